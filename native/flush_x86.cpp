// x86-64 cache write-back loops. Each function carries its own target attribute so the addon as a whole
// is compiled for baseline x86-64 and still loads on CPUs without clwb or clflushopt.
#include <immintrin.h>

#include "flush.h"

namespace pmemdax {

namespace {

inline uintptr_t LineStart(const void* addr) { return reinterpret_cast<uintptr_t>(addr) & ~(kCacheLine - 1); }

}  // namespace

__attribute__((target("clwb"))) size_t FlushClwb(const void* addr, size_t len) {
  if (len == 0) return 0;
  uintptr_t end = reinterpret_cast<uintptr_t>(addr) + len;
  size_t n = 0;
  for (uintptr_t p = LineStart(addr); p < end; p += kCacheLine, ++n) _mm_clwb(reinterpret_cast<void*>(p));
  return n;
}

__attribute__((target("clflushopt"))) size_t FlushClflushopt(const void* addr, size_t len) {
  if (len == 0) return 0;
  uintptr_t end = reinterpret_cast<uintptr_t>(addr) + len;
  size_t n = 0;
  for (uintptr_t p = LineStart(addr); p < end; p += kCacheLine, ++n) _mm_clflushopt(reinterpret_cast<void*>(p));
  return n;
}

size_t FlushClflush(const void* addr, size_t len) {
  if (len == 0) return 0;
  uintptr_t end = reinterpret_cast<uintptr_t>(addr) + len;
  size_t n = 0;
  for (uintptr_t p = LineStart(addr); p < end; p += kCacheLine, ++n) _mm_clflush(reinterpret_cast<void*>(p));
  return n;
}

}  // namespace pmemdax
