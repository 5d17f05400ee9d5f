#include "memcpy_nt.h"

#include <cstring>

namespace pmemdax {

const NtKernel& PickNtKernel(const CpuFeatures& cpu) {
  if (cpu.avx512f) return kNtAvx512;
  if (cpu.avx2) return kNtAvx2;
  return kNtSse2;
}

namespace {

bool UseNonTemporal(const StorePolicy& p, size_t len, uint32_t flags) {
  if (flags & kNoFlush) return false;  // the caller flushes later; streaming would defeat its batching
  if (flags & kTemporal) return false;
  if (flags & kNonTemporal) return true;
  return len >= p.movnt_threshold;
}

size_t FlushIf(const StorePolicy& p, const void* addr, size_t len, uint32_t flags) {
  if ((flags & kNoFlush) || p.flush == nullptr || len == 0) return 0;
  return p.flush(addr, len);
}

// Splits [dst, dst+len) into an unaligned head, whole aligned lines and a tail.
struct Split {
  size_t head;
  size_t lines;
  size_t tail;
};

Split SplitAtLines(const void* dst, size_t len) {
  size_t mis = reinterpret_cast<uintptr_t>(dst) & (kCacheLine - 1);
  size_t head = mis ? kCacheLine - mis : 0;
  if (head > len) head = len;
  size_t rest = len - head;
  return {head, rest / kCacheLine, rest % kCacheLine};
}

}  // namespace

size_t CopyToPmem(const StorePolicy& p, void* dst, const void* src, size_t len, uint32_t flags) {
  auto* d = static_cast<uint8_t*>(dst);
  auto* s = static_cast<const uint8_t*>(src);
  // Streaming copies run forwards; an overlap where the destination trails the source would read
  // bytes it has already overwritten, so those go through memmove.
  bool backwards_overlap = d > s && d < s + len;
  if (backwards_overlap || !UseNonTemporal(p, len, flags)) {
    std::memmove(d, s, len);
    return FlushIf(p, d, len, flags);
  }
  Split sp = SplitAtLines(d, len);
  size_t flushed = 0;
  if (sp.head) {
    std::memmove(d, s, sp.head);
    flushed += FlushIf(p, d, sp.head, flags);
  }
  p.kernel->copy_lines(d + sp.head, s + sp.head, sp.lines);
  if (sp.tail) {
    size_t off = sp.head + sp.lines * kCacheLine;
    std::memmove(d + off, s + off, sp.tail);
    flushed += FlushIf(p, d + off, sp.tail, flags);
  }
  return flushed;
}

size_t FillPmem(const StorePolicy& p, void* dst, uint8_t value, size_t len, uint32_t flags) {
  auto* d = static_cast<uint8_t*>(dst);
  if (!UseNonTemporal(p, len, flags)) {
    std::memset(d, value, len);
    return FlushIf(p, d, len, flags);
  }
  Split sp = SplitAtLines(d, len);
  size_t flushed = 0;
  if (sp.head) {
    std::memset(d, value, sp.head);
    flushed += FlushIf(p, d, sp.head, flags);
  }
  p.kernel->fill_lines(d + sp.head, value, sp.lines);
  if (sp.tail) {
    size_t off = sp.head + sp.lines * kCacheLine;
    std::memset(d + off, value, sp.tail);
    flushed += FlushIf(p, d + off, sp.tail, flags);
  }
  return flushed;
}

}  // namespace pmemdax
