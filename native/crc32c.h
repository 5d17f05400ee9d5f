// crc32c -- CRC-32C (Castagnoli), the checksum of every pool metadata structure (tree pages, bitmap
// copies, journal records, superblocks), with the SSE4.2 instruction where the processor has it.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

#include "cpu.h"

namespace pmemdax {

// A variant: continues `crc` (pre-inverted, as the variants keep it) over `n` bytes at `p`.
struct CrcKernel {
  const char* name;
  uint32_t (*update)(uint32_t crc, const uint8_t* p, size_t n);
};

// Variants, each in its own file compiled for its instruction set.
extern const CrcKernel kCrcTable;
extern const CrcKernel kCrcSse42;

const CrcKernel& PickCrcKernel(const CpuFeatures& cpu);

// The CRC-32C of `n` bytes at `p`, by the variant chosen once per process (PMEMDAX_NO_SSE42 at load).
uint32_t Crc32c(const uint8_t* p, size_t n);

// The variant in use ("sse4.2" or "table"), for cpuInfo.
const char* Crc32cName();

// crc32c(bytes: Uint8Array, start: number, end: number) -> number, for the TypeScript layer.
Napi::Value Crc32cJs(const Napi::CallbackInfo& info);

}  // namespace pmemdax
