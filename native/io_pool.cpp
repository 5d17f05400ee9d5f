#include "io_pool.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace pmemdax {

namespace {

// As many as libuv's pool has by default: jobs of several devices (or several persistAsync calls) at once.
constexpr int kThreads = 4;

// One environment's side: the thread-safe function its jobs come back through, and a count of the jobs the
// threads still hold, which its teardown waits for (after that no thread may use the function).
struct IoEnv {
  napi_threadsafe_function tsfn = nullptr;
  uint64_t pending = 0;  // JavaScript thread only: queued, Done not yet run; the loop is kept alive meanwhile
  std::atomic<uint64_t> held{0};  // queued and not yet handed back; decremented under mu
  std::mutex mu;
  std::condition_variable idle;
};

struct Item {
  IoJob* job;
  IoEnv* env;
};

// The environments with a thread-safe function, by their napi_env (JavaScript threads only).
std::mutex envs_mu;
std::unordered_map<napi_env, IoEnv*> envs;

class IoPool {
 public:
  // Never destroyed: its threads run until the process ends.
  static IoPool& Get() {
    static IoPool* pool = new IoPool();
    return *pool;
  }

  // 0, or why no thread could be started (the job was not queued).
  int Push(Item item) {
    int err = EnsureThreads();
    if (err != 0) return err;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(item);
    }
    sem_post(&ready_);
    return 0;
  }

 private:
  IoPool() { sem_init(&ready_, 0, 0); }

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
    for (; n < kThreads; ++n) {
      pthread_t t;
      err = pthread_create(&t, nullptr, &IoPool::Main, this);
      if (err != 0) break;
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
      std::lock_guard<std::mutex> lock(io->mu);
      if (io->held.fetch_sub(1) == 1) io->idle.notify_all();
    }
    return nullptr;
  }

  std::mutex mu_;
  std::deque<Item> queue_;
  sem_t ready_;
  std::mutex start_mu_;
  std::atomic<int> started_{0};
};

// Whether JavaScript can still run in `env`. A worker being terminated, or an environment being torn down,
// still drains its thread-safe functions, and a promise settled then fails (fatally, through
// node-addon-api). Node-API has no direct question for it; a strict comparison runs the same check as every
// call into JavaScript does, and changes nothing.
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
    job->Done(Napi::Env(env));
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
  {
    std::unique_lock<std::mutex> lock(io->mu);
    io->idle.wait(lock, [io] { return io->held.load() == 0; });
  }
  delete io;
}

IoEnv* IoEnvOf(napi_env env) {
  std::lock_guard<std::mutex> lock(envs_mu);
  auto it = envs.find(env);
  if (it != envs.end()) return it->second;
  auto* io = new IoEnv();
  napi_value name;
  napi_create_string_utf8(env, "pmemdax:io", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, Finalize, io, CallJs, &io->tsfn) != napi_ok) {
    delete io;
    return nullptr;
  }
  // Kept alive by the jobs in flight only (as libuv's pool keeps the loop alive for its work).
  napi_unref_threadsafe_function(env, io->tsfn);
  envs.emplace(env, io);
  return io;
}

}  // namespace

IoQueued QueueIoJob(Napi::Env env, IoJob* job) {
  IoEnv* io = IoEnvOf(env);
  if (io == nullptr) return {ECANCELED, "napi_create_threadsafe_function"};
  io->held.fetch_add(1);
  const int err = IoPool::Get().Push(Item{job, io});
  if (err != 0) {
    std::lock_guard<std::mutex> lock(io->mu);
    io->held.fetch_sub(1);
    return {err, "pthread_create"};
  }
  if (io->pending++ == 0) napi_ref_threadsafe_function(env, io->tsfn);
  return {0, nullptr};
}

}  // namespace pmemdax
