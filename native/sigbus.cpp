#include "sigbus.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "signal_chain.h"
#include "units.h"

namespace pmemdax {

namespace {

// Per-thread recovery state: set only while a guarded access runs on that thread.
struct Recovery {
  sigjmp_buf env;
  uintptr_t lo = 0, hi = 0;  // the addresses whose faults are ours
  volatile uintptr_t fault_addr = 0;
  volatile int fault_code = 0;
  volatile sig_atomic_t active = 0;
};

thread_local Recovery* tls_recovery = nullptr;
struct sigaction previous_action;

void OnSigbus(int sig, siginfo_t* info, void* ctx) {
  Recovery* r = tls_recovery;
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  if (r != nullptr && r->active && addr >= r->lo && addr < r->hi) {
    r->fault_addr = addr;
    r->fault_code = info->si_code;
    r->active = 0;
    siglongjmp(r->env, 1);
  }
  ChainSignal(previous_action, sig, info, ctx);
}

}  // namespace

void InstallSigbusHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &previous_action);
  });
}

// The signal mask is not saved (that is a system call per access): SIGBUS, blocked while its handler ran,
// is unblocked by hand after the jump.
bool RunGuarded(uintptr_t lo, uintptr_t hi, void (*fn)(void*), void* arg, BusFault* fault) {
  Recovery r;
  r.lo = lo;
  r.hi = hi;
  tls_recovery = &r;
  if (sigsetjmp(r.env, 0) != 0) {
    sigset_t bus;
    sigemptyset(&bus);
    sigaddset(&bus, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &bus, nullptr);
    tls_recovery = nullptr;
    fault->addr = r.fault_addr;
    fault->code = r.fault_code;
    return false;
  }
  r.active = 1;
  fn(arg);
  r.active = 0;
  tls_recovery = nullptr;
  return true;
}

int SafeCopy(void* dst, const void* src, size_t len, size_t* fault_offset, BusFault* fault) {
  auto lo = reinterpret_cast<uintptr_t>(src);
  auto* d = static_cast<uint8_t*>(dst);
  auto* s = static_cast<const uint8_t*>(src);
  // One memcpy of the whole range; only after a fault, again in chunks that end at source page boundaries
  // to learn which pages were copied (memcpy may visit bytes out of order: a large copy can load its tail
  // first, but never across a chunk, so when a chunk faults every page before it is copied).
  auto whole = [&] { std::memcpy(d, s, len); };
  if (Guarded(lo, lo + len, whole, fault)) return 0;
  auto by_page = [&] {
    for (size_t done = 0; done < len;) {
      size_t n = kPageSize - ((lo + done) & (kPageSize - 1));
      if (n > len - done) n = len - done;
      std::memcpy(d + done, s + done, n);
      done += n;
    }
  };
  if (Guarded(lo, lo + len, by_page, fault)) return 0;
  // Poison and lost pages are whole pages: report the start of the failing page (or of the copy).
  uintptr_t page = fault->addr & ~(kPageSize - 1);
  *fault_offset = page > lo ? page - lo : 0;
  return EIO;
}

}  // namespace pmemdax
