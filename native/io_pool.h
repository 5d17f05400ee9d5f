// io_pool -- the addon's own threads for the system calls of promise methods that can wait on a device
// (pwrite, msync, fdatasync), instead of libuv's pool.
//
// Why not libuv's: queueing work there signals a condition variable, and glibc's pthread_cond_signal (before
// 2.41) can sleep until a waiter it woke earlier has had a CPU. On a busy machine that took the JavaScript
// thread off the CPU for over a millisecond inside uv_queue_work. Here the queueing thread takes a lock held
// only for a push or a pop and posts a semaphore, which never waits for another thread to run; results come
// back through a thread-safe function.
#pragma once
#include <napi.h>

namespace pmemdax {

class IoJob {
 public:
  virtual ~IoJob() = default;
  // On an I/O thread. Touches no JavaScript value.
  virtual void Run() = 0;
  // On the JavaScript thread that queued the job, after Run; the job is deleted after.
  virtual void Done(Napi::Env env) = 0;
  // Its environment is going away (a worker thread or the process ends) before Done could run: release
  // what must be released without touching JavaScript. The job is deleted after.
  virtual void Abandon() = 0;
};

// Whether a job was queued: err 0, or an errno and the call that failed (the job is then still the caller's).
struct IoQueued {
  int err;
  const char* syscall;
};

// Queues `job` (owned by the pool from here on) on this environment's behalf; the event loop stays alive
// until its Done has run. On the JavaScript thread of `env`. Fails when no I/O thread could be started, or
// when the environment is being torn down.
IoQueued QueueIoJob(Napi::Env env, IoJob* job);

}  // namespace pmemdax
