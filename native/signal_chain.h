// signal_chain -- hands a signal we do not own to the handler that was installed before ours.
#pragma once
#include <signal.h>

namespace pmemdax {

// ChainSignal -- call `previous` as its flags say; if it was the default (or ignore) disposition, restore
// the default and return, so the faulting access repeats and the process dies as it would have without us.
inline void ChainSignal(const struct sigaction& previous, int sig, siginfo_t* info, void* ctx) {
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != nullptr) {
      previous.sa_sigaction(sig, info, ctx);
      return;
    }
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
}

}  // namespace pmemdax
