// in_place_watch -- a writer's watch over its in-place writes (lib/pool/in-place-gate.ts): a thread that sees
// a reader's claim and lets go of the in-place lock when the writer's own stores allow it, whether or not the
// writer's JavaScript thread is free to do so.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "job_gate.h"

namespace pmemdax {

// Slots of the Int32Array (over a SharedArrayBuffer) the watch shares with JavaScript; in-place-gate.ts names
// them the same.
enum InPlaceSlot : int {
  kInPlaceState = 0,     // an InPlaceState
  kInPlaceWriting = 1,   // 1 while the JavaScript thread may be between an in-place decision and its store
  kInPlaceGathered = 2,  // 1 while in-place stores wait, in JavaScript, to be handed to an I/O job
  kInPlaceBarrier = 3,   // 1 once the watch makes the barrier JavaScript's kInPlaceWriting store needs
  kInPlaceSlots = 4,
};

// Who holds the in-place lock. Every move out of kHeld or kRevoked is a compare-and-swap, so exactly one
// of the JavaScript thread and the watch makes the release (kReleasing), and JavaScript takes the lock again
// only once the releaser has dropped it and said kFree.
enum InPlaceState : int32_t { kInPlaceFree = 0, kInPlaceHeld = 1, kInPlaceRevoked = 2, kInPlaceReleasing = 3 };

// The lock bytes the watch uses (claims.ts): the in-place lock's, and the range readers' claims lie in.
struct InPlaceBytes {
  int64_t lock_at = 0;
  int64_t claims_start = 0;
  int64_t claims_length = 0;
};

class InPlaceWatch {
 public:
  // `fd` is the writer's open (the in-place lock is its); `slots` stays valid until the watch is destroyed.
  InPlaceWatch(int fd, JobGate* jobs, int32_t* slots, InPlaceBytes bytes);
  ~InPlaceWatch();  // stops the thread and joins it
  InPlaceWatch(const InPlaceWatch&) = delete;
  InPlaceWatch& operator=(const InPlaceWatch&) = delete;

  // JavaScript took the lock (kHeld): watch it from now.
  void Wake();

  // The slots it was made with: a writer with other slots needs a watch of its own.
  const int32_t* Slots() const { return slots_; }

 private:
  void Run();
  void Step();
  // The process is registered for barriers: the watch makes them, and tells JavaScript (kInPlaceBarrier).
  void UseBarrier();
  int32_t Load(InPlaceSlot slot) const;
  bool Swap(int32_t from, int32_t to);
  // No in-place decision open, nothing gathered, no job of the device in flight.
  bool StoresMade() const;

  const int fd_;
  JobGate* const jobs_;
  int32_t* const slots_;
  const InPlaceBytes bytes_;
  // PMEMDAX_NO_MEMBARRIER was not set when the watch was made: it makes the barrier once the process is registered.
  const bool want_barrier_;
  // The watch makes the barrier between JavaScript's store to kInPlaceWriting and its next load of
  // kInPlaceState (membarrier registered); kInPlaceBarrier says so to JavaScript, whose store then needs no
  // fence. Set by the thread once the process's registration ended (Run and Step only).
  bool barrier_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  // A revoke of this watch's was not yet followed by the writer's barrier (the watch's thread only).
  bool barrier_owed_ = false;
  std::thread thread_;
};

}  // namespace pmemdax
