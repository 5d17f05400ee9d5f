// flush -- cache write-back of a byte range and the store fence that orders it, chosen once per device.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu.h"
#include "units.h"

namespace pmemdax {

enum class FlushKind { kClwb, kClflushopt, kClflush };

// Writes back every cache line that overlaps [addr, addr+len). Returns the number of lines touched.
using FlushFn = size_t (*)(const void* addr, size_t len);

// Variants live in flush_x86.cpp, each compiled for the instruction it uses.
size_t FlushClwb(const void* addr, size_t len);
size_t FlushClflushopt(const void* addr, size_t len);
size_t FlushClflush(const void* addr, size_t len);

// PickFlush -- the best instruction the CPU offers: clwb > clflushopt > clflush.
FlushKind PickFlush(const CpuFeatures& cpu);
FlushFn FlushFunction(FlushKind kind);
const char* FlushName(FlushKind kind);

inline size_t LinesIn(const void* addr, size_t len) {
  if (len == 0) return 0;
  uintptr_t start = reinterpret_cast<uintptr_t>(addr) & ~(kCacheLine - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(addr) + len;
  return (end - start + kCacheLine - 1) / kCacheLine;
}

// sfence: orders the write-backs and non-temporal stores before it (SSE, available on every x86-64).
inline void Drain() { __builtin_ia32_sfence(); }

}  // namespace pmemdax
