// cpu -- what this processor offers for persistence, read once with CPUID and adjusted by test overrides.
#pragma once

namespace pmemdax {

struct CpuFeatures {
  bool clflush = false;
  bool clflushopt = false;
  bool clwb = false;
  bool avx2 = false;     // and the OS saves YMM state
  bool avx512f = false;  // and the OS saves ZMM state
  bool sse42 = false;    // the crc32 instruction
};

// DetectCpu -- the hardware's answer, before any override.
const CpuFeatures& DetectCpu();

// EffectiveCpu -- DetectCpu() minus what PMEMDAX_NO_CLWB / PMEMDAX_NO_CLFLUSHOPT / PMEMDAX_NO_AVX512 /
// PMEMDAX_NO_AVX2 / PMEMDAX_NO_SSE42 switch off; read at each device open (the CRC variant: once per
// process) so tests can vary them per process.
CpuFeatures EffectiveCpu();

// EnvFlag -- true when the variable is set to anything but "" or "0".
bool EnvFlag(const char* name);

}  // namespace pmemdax
