// AVX2 line kernels: two 32-byte streaming stores a line; selected only when CPUID and XCR0 allow.
#include <immintrin.h>

#include "memcpy_nt.h"

namespace pmemdax {

namespace {

__attribute__((target("avx2"))) void CopyLinesAvx2(void* dst, const void* src, size_t lines) {
  auto* d = static_cast<__m256i*>(dst);
  auto* s = static_cast<const __m256i*>(src);
  for (size_t i = 0; i < lines; ++i, d += 2, s += 2) {
    __m256i a = _mm256_loadu_si256(s), b = _mm256_loadu_si256(s + 1);
    _mm256_stream_si256(d, a);
    _mm256_stream_si256(d + 1, b);
  }
}

__attribute__((target("avx2"))) void FillLinesAvx2(void* dst, uint8_t value, size_t lines) {
  auto* d = static_cast<__m256i*>(dst);
  __m256i v = _mm256_set1_epi8(static_cast<char>(value));
  for (size_t i = 0; i < lines; ++i, d += 2) {
    _mm256_stream_si256(d, v);
    _mm256_stream_si256(d + 1, v);
  }
}

}  // namespace

const NtKernel kNtAvx2 = {"avx2", CopyLinesAvx2, FillLinesAvx2};

}  // namespace pmemdax
