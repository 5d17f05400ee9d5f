// memcpy_nt -- copies and fills into persistent memory, with non-temporal (cache-bypassing) stores for
// large ranges and ordinary stores plus write-back for small ones.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu.h"
#include "flush.h"

namespace pmemdax {

// Flag bits of copy, move and fill; exported to JavaScript as CopyFlags by constants.cpp.
enum CopyFlag : uint32_t {
  kNoDrain = 1,
  kNoFlush = 2,
  kNonTemporal = 4,
  kTemporal = 8,
};

// Line kernels: stream `lines` whole 64-byte lines to a 64-byte-aligned `dst`.
struct NtKernel {
  const char* name;
  void (*copy_lines)(void* dst, const void* src, size_t lines);
  void (*fill_lines)(void* dst, uint8_t value, size_t lines);
};

// Variants, each in its own file compiled for its instruction set.
extern const NtKernel kNtSse2;
extern const NtKernel kNtAvx2;
extern const NtKernel kNtAvx512;

const NtKernel& PickNtKernel(const CpuFeatures& cpu);

// What a device's copy path needs, fixed at open.
struct StorePolicy {
  const NtKernel* kernel;
  FlushFn flush;          // nullptr when stores need no cache write-back from the copy path
  size_t movnt_threshold;  // SIZE_MAX when non-temporal stores are disabled
};

// CopyToPmem / FillPmem -- the data in [dst, dst+len) is written and, unless the flags say otherwise,
// written back from the caches; the caller fences (or not) according to kNoDrain. Returns lines flushed.
size_t CopyToPmem(const StorePolicy& p, void* dst, const void* src, size_t len, uint32_t flags);
size_t FillPmem(const StorePolicy& p, void* dst, uint8_t value, size_t len, uint32_t flags);

}  // namespace pmemdax
