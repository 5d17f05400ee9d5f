#include "cpu.h"

#include <cpuid.h>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace pmemdax {

namespace {

uint64_t ReadXcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures Probe() {
  CpuFeatures f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  f.clflush = (edx >> 19) & 1;
  f.sse42 = (ecx >> 20) & 1;
  const bool osxsave = (ecx >> 27) & 1;
  const bool avx = (ecx >> 28) & 1;
  uint64_t xcr0 = osxsave ? ReadXcr0() : 0;
  const bool ymm = avx && (xcr0 & 0x6) == 0x6;
  const bool zmm = ymm && (xcr0 & 0xe0) == 0xe0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    f.avx2 = ymm && ((ebx >> 5) & 1);
    f.avx512f = zmm && ((ebx >> 16) & 1);
    f.clflushopt = (ebx >> 23) & 1;
    f.clwb = (ebx >> 24) & 1;
  }
  return f;
}

}  // namespace

bool EnvFlag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

const CpuFeatures& DetectCpu() {
  static const CpuFeatures features = Probe();
  return features;
}

CpuFeatures EffectiveCpu() {
  CpuFeatures f = DetectCpu();
  if (EnvFlag("PMEMDAX_NO_CLWB")) f.clwb = false;
  if (EnvFlag("PMEMDAX_NO_CLFLUSHOPT")) f.clflushopt = false;
  if (EnvFlag("PMEMDAX_NO_AVX512")) f.avx512f = false;
  if (EnvFlag("PMEMDAX_NO_AVX2")) f.avx2 = false;
  if (EnvFlag("PMEMDAX_NO_SSE42")) f.sse42 = false;
  return f;
}

}  // namespace pmemdax
