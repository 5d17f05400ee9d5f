// units -- the sizes native code works in, named once: x86-64 pages, PMD (huge page) extents, cache lines,
// the kernel's 512-byte sectors and the largest ArrayBuffer V8 makes.
#pragma once
#include <cstdint>

namespace pmemdax {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kPmdSize = 2ull << 20;  // one PMD entry: the extent a huge page (and a DAX PMD fault) covers
constexpr uint64_t kCacheLine = 64;
constexpr uint64_t kSectorSize = 512;  // the unit of sysfs badblocks lists and partition starts
// V8 makes no ArrayBuffer over 4 GiB on every Node the package supports (asking aborted the process).
constexpr uint64_t kMaxArrayBufferBytes = 1ull << 32;

// The start of the page holding `x`.
constexpr uint64_t PageStart(uint64_t x) { return x & ~(kPageSize - 1); }

}  // namespace pmemdax
