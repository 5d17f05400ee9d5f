#include "crc32c.h"

#include <cmath>

namespace pmemdax {

namespace {

// Slicing-by-8 tables of the reflected polynomial 0x82F63B78: table[k][b] is byte b's CRC after k
// further zero bytes, so eight bytes are folded with eight lookups.
struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t b = 0; b < 256; b++) {
      uint32_t c = b;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
      t[0][b] = c;
    }
    for (int k = 1; k < 8; k++) {
      for (uint32_t b = 0; b < 256; b++) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    }
  }
};

const Tables kTables;

uint32_t UpdateTable(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = kTables.t;
  for (; n >= 8; n -= 8, p += 8) {
    const uint32_t lo = crc ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    const uint32_t hi = uint32_t(p[4]) | uint32_t(p[5]) << 8 | uint32_t(p[6]) << 16 | uint32_t(p[7]) << 24;
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
  }
  for (; n > 0; n--, p++) crc = t[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
  return crc;
}

const CrcKernel* Chosen() {
  // Once per process: the checksum must not change variant under a running pool.
  static const CrcKernel* kernel = &PickCrcKernel(EffectiveCpu());
  return kernel;
}

}  // namespace

const CrcKernel kCrcTable = {"table", UpdateTable};

const CrcKernel& PickCrcKernel(const CpuFeatures& cpu) {
  return cpu.sse42 ? kCrcSse42 : kCrcTable;
}

uint32_t Crc32c(const uint8_t* p, size_t n) {
  return ~Chosen()->update(~0u, p, n);
}

const char* Crc32cName() {
  return Chosen()->name;
}

Napi::Value Crc32cJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "crc32c(bytes: Uint8Array, start: number, end: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  const double start = info[1].As<Napi::Number>().DoubleValue();
  const double end = info[2].As<Napi::Number>().DoubleValue();
  const double length = static_cast<double>(bytes.ElementLength());
  if (!(start >= 0 && start <= end && end <= length) || std::floor(start) != start || std::floor(end) != end) {
    Napi::RangeError::New(env, "crc32c: the range is not inside the bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint8_t* p = bytes.Data() + static_cast<size_t>(start);
  return Napi::Number::New(env, Crc32c(p, static_cast<size_t>(end - start)));
}

}  // namespace pmemdax
