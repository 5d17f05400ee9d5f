#include "sigbus.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "signal_chain.h"

namespace pmemdax {

namespace {

// Per-thread recovery state: set only while SafeCopy runs on that thread.
struct Recovery {
  sigjmp_buf env;
  uintptr_t lo = 0, hi = 0;  // source range being copied
  volatile uintptr_t fault_addr = 0;
  volatile sig_atomic_t active = 0;
};

thread_local Recovery* tls_recovery = nullptr;
struct sigaction previous_action;

void OnSigbus(int sig, siginfo_t* info, void* ctx) {
  Recovery* r = tls_recovery;
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  if (r != nullptr && r->active && addr >= r->lo && addr < r->hi) {
    r->fault_addr = addr;
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

namespace {

// Copies in chunks that end at source page boundaries. memcpy may visit bytes out of order (a large copy
// can load its tail first), but never across a chunk, so when a chunk faults every page before it is copied.
void CopyByPage(uint8_t* d, const uint8_t* s, uintptr_t lo, size_t len) {
  constexpr uintptr_t kPage = 4096;
  for (size_t done = 0; done < len;) {
    size_t n = kPage - ((lo + done) & (kPage - 1));
    if (n > len - done) n = len - done;
    std::memcpy(d + done, s + done, n);
    done += n;
  }
}

// Runs copy() with SIGBUS on r's range recovered; false if it was. The signal mask is not saved (that is a
// system call per copy): SIGBUS, blocked while its handler ran, is unblocked by hand after the jump.
template <typename Copy>
bool Guarded(Recovery& r, Copy copy) {
  tls_recovery = &r;
  if (sigsetjmp(r.env, 0) != 0) {
    sigset_t bus;
    sigemptyset(&bus);
    sigaddset(&bus, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &bus, nullptr);
    tls_recovery = nullptr;
    return false;
  }
  r.active = 1;
  copy();
  r.active = 0;
  tls_recovery = nullptr;
  return true;
}

}  // namespace

int SafeCopy(void* dst, const void* src, size_t len, size_t* fault) {
  Recovery r;
  r.lo = reinterpret_cast<uintptr_t>(src);
  r.hi = r.lo + len;
  auto* d = static_cast<uint8_t*>(dst);
  auto* s = static_cast<const uint8_t*>(src);
  // One memcpy of the whole range; only after a fault, again page by page to learn which pages were copied.
  if (Guarded(r, [&] { std::memcpy(d, s, len); })) return 0;
  if (Guarded(r, [&] { CopyByPage(d, s, r.lo, len); })) return 0;
  // Poison and lost pages are whole pages: report the start of the failing page (or of the copy).
  constexpr uintptr_t kPage = 4096;
  uintptr_t page = r.fault_addr & ~(kPage - 1);
  *fault = page > r.lo ? page - r.lo : 0;
  return EIO;
}

}  // namespace pmemdax
