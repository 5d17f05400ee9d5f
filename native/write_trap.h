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

// Trap state is kept for 2 MiB of pages at a time, made only when a page in it is first armed: a region
// pays for the pages it traps, not for the address space it reserves.
constexpr size_t kTrapChunkPages = 512;

struct TrapChunk {
  std::atomic<uint8_t> state[kTrapChunkPages] = {};
  // (sequence << 16) | page within the chunk, at most one entry per page per arming; the sequence
  // restores trap order across chunks.
  uint64_t log[kTrapChunkPages] = {};
  std::atomic<uint32_t> log_count{0};
};

struct TrapTable {
  uintptr_t base = 0;
  size_t pages = 0;
  // Pages opened together by one trap: 1, or more where the mapping cannot be split finer (device-dax
  // with a 2 MiB alignment refuses an mprotect of part of a 2 MiB piece).
  size_t granule_pages = 1;
  std::atomic<TrapChunk*>* chunks = nullptr;  // pages / kTrapChunkPages (rounded up), null until armed
  std::atomic<uint64_t> sequence{0};
  std::atomic<uint64_t> traps{0};
};

// RegisterTraps / UnregisterTraps -- make a region's table visible to the handler (installed on first use).
// Returns false when the process-wide table of regions is full.
bool RegisterTraps(TrapTable* table);
void UnregisterTraps(TrapTable* table);

}  // namespace pmemdax
