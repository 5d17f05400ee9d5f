// SSE4.2 CRC-32C: the processor's crc32 instruction, eight bytes at a time; selected only when CPUID has it.
#include <nmmintrin.h>

#include <cstring>

#include "crc32c.h"

namespace pmemdax {

namespace {

__attribute__((target("sse4.2"))) uint32_t UpdateSse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; n--, p++) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}

}  // namespace

const CrcKernel kCrcSse42 = {"sse4.2", UpdateSse42};

}  // namespace pmemdax
