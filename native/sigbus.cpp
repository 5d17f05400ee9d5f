#include "sigbus.h"

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
  uintptr_t fault_addr = 0;
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

int SafeCopy(void* dst, const void* src, size_t len, size_t* fault) {
  Recovery r;
  r.lo = reinterpret_cast<uintptr_t>(src);
  r.hi = r.lo + len;
  tls_recovery = &r;
  constexpr uintptr_t kPage = 4096;
  if (sigsetjmp(r.env, 1) != 0) {
    tls_recovery = nullptr;
    // Poison and lost pages are whole pages: report the start of the failing page (or of the copy).
    uintptr_t page = r.fault_addr & ~(kPage - 1);
    *fault = page > r.lo ? page - r.lo : 0;
    return EIO;
  }
  r.active = 1;
  // Copy in chunks that end at source page boundaries: memcpy may visit bytes out of order, but never
  // across a chunk, so every page before a faulting one has been copied when we bail out.
  auto* d = static_cast<uint8_t*>(dst);
  auto* s = static_cast<const uint8_t*>(src);
  for (size_t done = 0; done < len;) {
    uintptr_t here = r.lo + done;
    size_t n = kPage - (here & (kPage - 1));
    if (n > len - done) n = len - done;
    std::memcpy(d + done, s + done, n);
    done += n;
  }
  r.active = 0;
  tls_recovery = nullptr;
  return 0;
}

}  // namespace pmemdax
