#include "io_pool.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

namespace pmemdax {

namespace {

// As many as libuv's pool has by default, unless PMEMDAX_IO_THREADS says otherwise (1 to 64): the jobs of
// several devices, or several persistAsync calls, at once.
constexpr int kDefaultThreads = 4;
constexpr int kMaxThreads = 64;

// One environment's side: the thread-safe function its jobs come back through, and a count of the jobs the
// threads still hold, which its teardown waits for (after that no thread may use the function).
struct IoEnv {
  napi_threadsafe_function tsfn = nullptr;
  uint64_t pending = 0;  // JavaScript thread only: queued, Done not yet run; the loop is kept alive meanwhile
  std::atomic<uint64_t> held{0};  // queued and not yet handed back; decremented under mu
  std::mutex mu;
  std::condition_variable idle;
};

// A job of `io` is no longer the threads': its teardown may go on once none is left.
void LetGo(IoEnv* io) {
  std::lock_guard<std::mutex> lock(io->mu);
  if (io->held.fetch_sub(1) == 1) io->idle.notify_all();
}

struct Item {
  IoJob* job;
  IoEnv* env;
};

// The environments' sides, by their napi_env. The lock is never held while JavaScript runs.
std::mutex envs_mu;
std::unordered_map<napi_env, IoEnv*> envs;
// This thread's environment, found without the lock (one environment per JavaScript thread in Node).
thread_local napi_env cached_env = nullptr;
thread_local IoEnv* cached_io = nullptr;

// PMEMDAX_IO_THREADS as a whole number 1..64 in decimal digits only, or 0 when it is anything else.
int ParsedThreads(const char* v) {
  if (*v == '\0' || std::strlen(v) > 2) return 0;
  int n = 0;
  for (const char* c = v; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9') return 0;
    n = n * 10 + (*c - '0');
  }
  return n >= 1 && n <= kMaxThreads ? n : 0;
}

int ThreadCount() {
  const char* v = std::getenv("PMEMDAX_IO_THREADS");
  const int n = v == nullptr ? 0 : ParsedThreads(v);
  return n == 0 ? kDefaultThreads : n;
}

class IoPool {
 public:
  IoPool() { sem_init(&ready_, 0, 0); }

  // 0, or an errno: no thread could be started, or no memory (the job was not queued).
  int Push(Item item) {
    const int err = EnsureThreads();
    if (err != 0) return err;
    try {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(item);
    } catch (const std::bad_alloc&) {
      return ENOMEM;
    }
    sem_post(&ready_);
    return 0;
  }

 private:
  int EnsureThreads() {
    if (started_.load(std::memory_order_acquire) > 0) return 0;
    std::lock_guard<std::mutex> lock(start_mu_);
    // The threads take no asynchronous signal (they stay with the threads the process expects); the
    // synchronous ones cannot be blocked usefully, so they stay open.
    sigset_t all, old;
    sigfillset(&all);
    for (int sig : {SIGBUS, SIGSEGV, SIGILL, SIGFPE}) sigdelset(&all, sig);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int err = 0;
    int n = started_.load(std::memory_order_relaxed);
    for (const int want = ThreadCount(); n < want; ++n) {
      pthread_t t;
      err = pthread_create(&t, nullptr, &IoPool::Main, this);
      if (err != 0) break;
      pthread_setname_np(t, "pmemdax-io");
      pthread_detach(t);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    started_.store(n, std::memory_order_release);
    return n > 0 ? 0 : err;
  }

  static void* Main(void* arg) {
    auto* pool = static_cast<IoPool*>(arg);
    for (;;) {
      while (sem_wait(&pool->ready_) != 0) {
      }
      Item item;
      {
        std::lock_guard<std::mutex> lock(pool->mu_);
        item = pool->queue_.front();
        pool->queue_.pop_front();
      }
      item.job->Run();
      IoEnv* io = item.env;
      if (napi_call_threadsafe_function(io->tsfn, item.job, napi_tsfn_nonblocking) != napi_ok) {
        item.job->Abandon();
        delete item.job;
      }
      LetGo(io);
    }
    return nullptr;
  }

  std::mutex mu_;
  std::deque<Item> queue_;
  sem_t ready_;
  std::mutex start_mu_;
  std::atomic<int> started_{0};
};

// Never destroyed: its threads run until the process ends (the addon is linked nodelete, so their code stays
// mapped when a worker thread that loaded it ends). A child forked without exec has none of the threads,
// and may have forked with a lock held: it makes a pool of its own on first use. The fork handler itself
// allocates nothing: every fork runs it (libuv's spawn forks before it execs), and an allocator lock another
// thread held at the fork (a sanitizer's) would hang the child there.
IoPool* the_pool = new IoPool();
const int at_fork = pthread_atfork(nullptr, nullptr, [] { the_pool = nullptr; });

// Whether JavaScript can still run in `env`. A worker being terminated, or an environment being torn down,
// still drains its thread-safe functions, and a promise settled then fails. Node-API has no direct question
// for it; a strict comparison runs the same check as every call into JavaScript does, and changes nothing.
// (A termination requested by another thread can still be pending; node-addon-api is built to swallow what
// then cannot be thrown, NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS in binding.gyp.)
bool CanRunJs(napi_env env) {
  napi_value u;
  bool same = false;
  return napi_get_undefined(env, &u) == napi_ok && napi_strict_equals(env, u, u, &same) == napi_ok;
}

// A job is back on its JavaScript thread; with no env, the environment is being torn down.
void CallJs(napi_env env, napi_value, void* context, void* data) {
  auto* job = static_cast<IoJob*>(data);
  if (env == nullptr) {
    job->Abandon();
    delete job;
    return;
  }
  auto* io = static_cast<IoEnv*>(context);
  if (CanRunJs(env)) {
    napi_value resource;
    napi_callback_scope scope = nullptr;
    if (napi_create_object(env, &resource) == napi_ok) napi_open_callback_scope(env, resource, job->async_context, &scope);
    try {
      job->Done(Napi::Env(env));
    } catch (const std::bad_alloc&) {
      // Out of memory settling the promise: it stays unsettled rather than take the process down.
    }
    if (scope != nullptr) napi_close_callback_scope(env, scope);
    napi_async_destroy(env, job->async_context);
  } else {
    job->Abandon();
  }
  delete job;
  if (--io->pending == 0) napi_unref_threadsafe_function(env, io->tsfn);
}

// The environment is going away: once no thread holds a job of it, no thread touches its function again.
void Finalize(napi_env env, void*, void* context) {
  auto* io = static_cast<IoEnv*>(context);
  {
    std::lock_guard<std::mutex> lock(envs_mu);
    envs.erase(env);
  }
  if (cached_env == env) {
    cached_env = nullptr;
    cached_io = nullptr;
  }
  {
    std::unique_lock<std::mutex> lock(io->mu);
    io->idle.wait(lock, [io] { return io->held.load() == 0; });
  }
  delete io;
}

IoEnv* IoEnvOf(napi_env env) {
  if (cached_env == env) return cached_io;
  std::lock_guard<std::mutex> lock(envs_mu);
  auto it = envs.find(env);
  if (it == envs.end()) return nullptr;
  cached_env = env;
  cached_io = it->second;
  return it->second;
}

}  // namespace

void InitIoEnv(Napi::Env env) {
  if (IoEnvOf(env) != nullptr) return;
  auto* io = new IoEnv();
  napi_value name;
  napi_create_string_utf8(env, "pmemdax:io", NAPI_AUTO_LENGTH, &name);
  // Outside envs_mu: creating it runs async_hooks' init hooks, which are JavaScript.
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, Finalize, io, CallJs, &io->tsfn) != napi_ok) {
    delete io;
    return;
  }
  // Kept alive by the jobs in flight only (as libuv's pool keeps the loop alive for its work).
  napi_unref_threadsafe_function(env, io->tsfn);
  std::lock_guard<std::mutex> lock(envs_mu);
  envs.emplace(env, io);
}

IoQueued QueueIoJob(Napi::Env env, IoJob* job) {
  IoEnv* io = IoEnvOf(env);
  if (io == nullptr) return {ECANCELED, "napi_create_threadsafe_function"};
  // The job's own async context, as Napi::AsyncWorker has: Done runs in the context of the call that queued it.
  napi_value resource, name;
  if (napi_create_object(env, &resource) != napi_ok || napi_create_string_utf8(env, "pmemdax:io", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &job->async_context) != napi_ok) {
    return {ENOMEM, "napi_async_init"};
  }
  io->held.fetch_add(1);
  if (the_pool == nullptr) the_pool = new IoPool();
  const int err = the_pool->Push(Item{job, io});
  if (err != 0) {
    LetGo(io);
    napi_async_destroy(env, job->async_context);
    job->async_context = nullptr;
    return {err, err == ENOMEM ? "malloc" : "pthread_create"};
  }
  if (io->pending++ == 0) napi_ref_threadsafe_function(env, io->tsfn);
  return {0, nullptr};
}

std::string IoThreadsNote() {
  const char* v = std::getenv("PMEMDAX_IO_THREADS");
  if (v == nullptr || ParsedThreads(v) != 0) return "";
  return std::string("ignored PMEMDAX_IO_THREADS='") + v + "': not a whole number from 1 to 64 (" + std::to_string(kDefaultThreads) +
         " I/O threads)";
}

}  // namespace pmemdax
