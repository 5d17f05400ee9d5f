// SSE2 line kernels: four 16-byte streaming stores a line. SSE2 is part of x86-64, so no target attribute.
#include <emmintrin.h>

#include "memcpy_nt.h"

namespace pmemdax {

namespace {

void CopyLinesSse2(void* dst, const void* src, size_t lines) {
  auto* d = static_cast<__m128i*>(dst);
  auto* s = static_cast<const __m128i*>(src);
  for (size_t i = 0; i < lines; ++i, d += 4, s += 4) {
    __m128i a = _mm_loadu_si128(s), b = _mm_loadu_si128(s + 1), c = _mm_loadu_si128(s + 2), e = _mm_loadu_si128(s + 3);
    _mm_stream_si128(d, a);
    _mm_stream_si128(d + 1, b);
    _mm_stream_si128(d + 2, c);
    _mm_stream_si128(d + 3, e);
  }
}

void FillLinesSse2(void* dst, uint8_t value, size_t lines) {
  auto* d = static_cast<__m128i*>(dst);
  __m128i v = _mm_set1_epi8(static_cast<char>(value));
  for (size_t i = 0; i < lines; ++i, d += 4) {
    _mm_stream_si128(d, v);
    _mm_stream_si128(d + 1, v);
    _mm_stream_si128(d + 2, v);
    _mm_stream_si128(d + 3, v);
  }
}

}  // namespace

const NtKernel kNtSse2 = {"sse2", CopyLinesSse2, FillLinesSse2};

}  // namespace pmemdax
