// sigbus -- accesses to a mapping that survive a SIGBUS: poisoned media (a machine check), a page of a file
// truncated under the mapping, or a store into a hole the filesystem has no space left to fill.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pmemdax {

// InstallSigbusHandler -- installs (once per process) a SIGBUS handler that recovers the accesses guarded
// below on this thread and hands every other SIGBUS to the handler that was there before.
void InstallSigbusHandler();

// What a recovered SIGBUS said.
struct BusFault {
  uintptr_t addr = 0;  // si_addr: the faulting address
  int code = 0;        // si_code: BUS_MCEERR_AR / BUS_MCEERR_AO for a machine check, BUS_ADRERR otherwise
};

// RunGuarded -- fn(arg), with a SIGBUS at an address in [lo, hi) on this thread recovered: true when fn ran
// to its end, false (and *fault set) when it was cut short by one. fn must own no resource a jump out of it
// would leak: plain loads, stores, copies and cache write-backs only.
bool RunGuarded(uintptr_t lo, uintptr_t hi, void (*fn)(void*), void* arg, BusFault* fault);

template <typename F>
bool Guarded(uintptr_t lo, uintptr_t hi, F& f, BusFault* fault) {
  return RunGuarded(lo, hi, [](void* p) { (*static_cast<F*>(p))(); }, &f, fault);
}

// SafeCopy -- memcpy(dst, src, len); returns 0, or EIO with *fault_offset set to the offset from `src` of the
// start of the page that raised SIGBUS (0 if that page holds `src`) and *fault its details. Every page before
// it has been copied.
int SafeCopy(void* dst, const void* src, size_t len, size_t* fault_offset, BusFault* fault);

}  // namespace pmemdax
