#include "in_place_watch.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <system_error>

#include "cpu.h"
#include "file_lock.h"

namespace pmemdax {

namespace {

// How often a held lock is looked at: the writer's own JavaScript timer asks as often (in-place-gate.ts).
constexpr std::chrono::milliseconds kPeriod{2};

int Membarrier(int cmd) { return static_cast<int>(syscall(SYS_membarrier, cmd, 0, 0)); }

// The process may use expedited private barriers (Linux 4.14 on, unless a seccomp policy refuses them), and one
// is made once to be sure (a policy may refuse the command and not the registration).
bool RegisterBarrier() {
  return Membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 && Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0;
}

enum Registration : int { kUnregistered, kRegistering, kRegistered, kRefused };

// A registration is per address space: one for every watch and worker thread of the process. The first waits
// for an RCU grace period (10 ms and more on the development VM), so it runs on a thread of its own that
// nothing waits for: not the JavaScript thread, and not a watch's, which a writer's close joins.
std::atomic<int> g_registration{kUnregistered};

// A child forked while the registration ran has no thread making it: it starts one of its own when asked. (One
// forked after it inherits the registration: the kernel clears it only at exec.)
const int at_fork = pthread_atfork(nullptr, nullptr, [] {
  int registering = kRegistering;
  g_registration.compare_exchange_strong(registering, kUnregistered);
});

// Where the process's registration is; the first to ask starts it. A thread that cannot be started leaves the
// registration unstarted: the next question tries again (the writer fences its stores meanwhile).
Registration AskRegistration() {
  int seen = kUnregistered;
  if (!g_registration.compare_exchange_strong(seen, kRegistering)) return static_cast<Registration>(seen);
  try {
    std::thread([] { g_registration.store(RegisterBarrier() ? kRegistered : kRefused); }).detach();
  } catch (const std::exception&) {
    g_registration.store(kUnregistered);
    return kUnregistered;
  }
  return kRegistering;
}

}  // namespace

InPlaceWatch::InPlaceWatch(int fd, JobGate* jobs, int32_t* slots, InPlaceBytes bytes)
    : fd_(fd), jobs_(jobs), slots_(slots), bytes_(bytes), want_barrier_(!EnvFlag("PMEMDAX_NO_MEMBARRIER")) {
  // Until this thread says otherwise the writer fences its store (slots of an earlier watch may say 1).
  __atomic_store_n(slots_ + kInPlaceBarrier, 0, __ATOMIC_SEQ_CST);
  thread_ = std::thread([this] { Run(); });
}

InPlaceWatch::~InPlaceWatch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void InPlaceWatch::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

int32_t InPlaceWatch::Load(InPlaceSlot slot) const { return __atomic_load_n(slots_ + slot, __ATOMIC_SEQ_CST); }

bool InPlaceWatch::Swap(int32_t from, int32_t to) {
  return __atomic_compare_exchange_n(slots_ + kInPlaceState, &from, to, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

bool InPlaceWatch::StoresMade() const {
  return Load(kInPlaceWriting) == 0 && Load(kInPlaceGathered) == 0 && jobs_->Idle();
}

void InPlaceWatch::Run() {
  bool registering = want_barrier_;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // Until the process's registration ends its end is looked for every period, the lock held or not.
    if (registering) {
      const Registration r = AskRegistration();
      registering = r == kRegistering || r == kUnregistered;
      if (r == kRegistered) UseBarrier();
    }
    // Nothing to watch while the lock is free: sleep until JavaScript takes it (no wake-ups in an idle writer).
    if (Load(kInPlaceState) == kInPlaceFree) {
      if (registering) cv_.wait_for(lock, kPeriod, [this] { return stop_ || woken_; });
      else cv_.wait(lock, [this] { return stop_ || woken_; });
      woken_ = false;
      continue;
    }
    if (cv_.wait_for(lock, kPeriod, [this] { return stop_; })) break;
    lock.unlock();
    Step();
    lock.lock();
  }
}

void InPlaceWatch::UseBarrier() {
  barrier_ = true;
  // A revoke made before now left the writer's stores fenced; its next step makes the barrier all the same,
  // before it reads kInPlaceWriting, since the writer may store plainly from the moment the slot says 1.
  barrier_owed_ = true;
  __atomic_store_n(slots_ + kInPlaceBarrier, 1, __ATOMIC_SEQ_CST);
}

// A claim while the lock is held: from now JavaScript copies (it reads kRevoked before each in-place decision,
// after saying it is deciding). The lock goes once no decision is between its check and its store and no
// in-place store waits in JavaScript or runs in a job; a reader waiting for it then reads whole stores.
void InPlaceWatch::Step() {
  if (Load(kInPlaceState) == kInPlaceHeld) {
    bool found = false;
    int64_t at = 0;
    if (RangeConflict(fd_, bytes_.claims_start, bytes_.claims_length, LockMode::kExclusive, &found, &at) == 0 && found &&
        Swap(kInPlaceHeld, kInPlaceRevoked)) {
      barrier_owed_ = barrier_;
    }
  }
  // The writer says kInPlaceWriting with a plain store, then reads the state: a barrier on each of its threads
  // makes a store made before it visible here, and a load made after it see kInPlaceRevoked. (Once registered
  // it does not fail; if it did, the next step tries again before reading kInPlaceWriting.)
  if (barrier_owed_) {
    if (Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) return;
    barrier_owed_ = false;
  }
  if (Load(kInPlaceState) != kInPlaceRevoked || !StoresMade()) return;
  if (!Swap(kInPlaceRevoked, kInPlaceReleasing)) return;
  // Looked at again once no one else can move the state: between the first look and the swap the writer may
  // have let go, taken the lock again and been revoked again (a reader on its thread), with stores under way.
  if (!StoresMade()) {
    __atomic_store_n(slots_ + kInPlaceState, kInPlaceRevoked, __ATOMIC_SEQ_CST);
    return;
  }
  RangeLock(fd_, bytes_.lock_at, 1, LockMode::kNone);
  __atomic_store_n(slots_ + kInPlaceState, kInPlaceFree, __ATOMIC_SEQ_CST);
}

}  // namespace pmemdax
