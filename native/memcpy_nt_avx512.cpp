// AVX-512 line kernels: one 64-byte streaming store a line; selected only when CPUID and XCR0 allow.
#include <immintrin.h>

#include "memcpy_nt.h"

namespace pmemdax {

namespace {

__attribute__((target("avx512f"))) void CopyLinesAvx512(void* dst, const void* src, size_t lines) {
  auto* d = static_cast<__m512i*>(dst);
  auto* s = static_cast<const __m512i*>(src);
  for (size_t i = 0; i < lines; ++i, ++d, ++s) _mm512_stream_si512(d, _mm512_loadu_si512(s));
}

__attribute__((target("avx512f"))) void FillLinesAvx512(void* dst, uint8_t value, size_t lines) {
  auto* d = static_cast<__m512i*>(dst);
  __m512i v = _mm512_set1_epi8(static_cast<char>(value));
  for (size_t i = 0; i < lines; ++i, ++d) _mm512_stream_si512(d, v);
}

}  // namespace

const NtKernel kNtAvx512 = {"avx512", CopyLinesAvx512, FillLinesAvx512};

}  // namespace pmemdax
