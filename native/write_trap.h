// write_trap -- the chained SIGSEGV handler behind userspace page_mkwrite: a store to a page armed as
// "writable on fault" is logged, the page is made read-write, and the store completes. Every other fault
// goes to the handler that was installed before (Node's own, which handles WebAssembly traps).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pmemdax {

// Per-page trap state of one region, shared with the signal handler.
enum TrapState : uint8_t { kTrapOff = 0, kTrapArmed = 1, kTrapFiring = 2 };

struct TrapTable {
  uintptr_t base = 0;
  size_t pages = 0;
  // Pages opened together by one trap: 1, or more where the mapping cannot be split finer (device-dax
  // with a 2 MiB alignment refuses an mprotect of part of a 2 MiB piece).
  size_t granule_pages = 1;
  std::atomic<uint8_t>* state = nullptr;  // one per page
  uint32_t* log = nullptr;                // page indices, at most one entry per page per arming
  std::atomic<uint32_t> log_count{0};
  std::atomic<uint64_t> traps{0};
};

// RegisterTraps / UnregisterTraps -- make a region's table visible to the handler (installed on first use).
// Returns false when the process-wide table of regions is full.
bool RegisterTraps(TrapTable* table);
void UnregisterTraps(TrapTable* table);

}  // namespace pmemdax
