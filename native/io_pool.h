// io_pool -- the addon's own threads for the system calls of promise methods that can wait on a device
// (pwrite, msync, fdatasync), instead of libuv's pool.
//
// Why not libuv's: queueing work there signals a condition variable, and glibc's pthread_cond_signal (2.36
// here, as in Debian 12) can sleep until a waiter it woke earlier has had a CPU. On a busy machine that took the JavaScript
// thread off the CPU for over a millisecond inside uv_queue_work. Here the queueing thread takes a lock held
// only for a push or a pop and posts a semaphore, which never waits for another thread to run; results come
// back through a thread-safe function of the environment.
#pragma once
#include <napi.h>

#include <string>

namespace pmemdax {

class IoJob {
 public:
  virtual ~IoJob() = default;
  // On an I/O thread. Touches no JavaScript value.
  virtual void Run() = 0;
  // On the JavaScript thread that queued the job, after Run, in the async context of the call that queued
  // it; the job is deleted after.
  virtual void Done(Napi::Env env) = 0;
  // Its environment is going away (a worker thread or the process ends) and JavaScript can no longer run
  // there: release what must be released without touching JavaScript. The job is deleted after.
  virtual void Abandon() = 0;

  // The queueing call's async context (set and destroyed by the pool).
  napi_async_context async_context = nullptr;
};

// Whether a job was queued: err 0, or an errno and the call that failed (the job is then still the caller's).
struct IoQueued {
  int err;
  const char* syscall;
};

// Sets up this environment's side: the thread-safe function its jobs come back through. At module
// initialisation, so that no request's async context (an AsyncLocalStorage store) is captured by it.
void InitIoEnv(Napi::Env env);

// Queues `job` (owned by the pool from here on) on this environment's behalf; the event loop stays alive
// until its Done has run. On the JavaScript thread of `env`. Fails when no I/O thread could be started, or
// out of memory.
IoQueued QueueIoJob(Napi::Env env, IoJob* job);

// A note for a device's `info.notes` when PMEMDAX_IO_THREADS is set to something it ignores; empty otherwise.
std::string IoThreadsNote();

}  // namespace pmemdax
