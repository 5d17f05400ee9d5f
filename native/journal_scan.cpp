#include "journal_scan.h"

#include <cstdint>

#include "crc32c.h"
#include "journal_record.h"

namespace pmemdax {

using journal::IsIndex;
using journal::kAlign;
using journal::kHeader;
using journal::kMagic;
using journal::Load;

Napi::Value JournalScanJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsTypedArray() ||
      info[5].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "journalScan(bytes: Uint8Array, at: number, avail: number, epoch: number, seq: number, out: Float64Array)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  Napi::Float64Array out = info[5].As<Napi::Float64Array>();
  const double at = info[1].As<Napi::Number>().DoubleValue();
  const double avail = info[2].As<Napi::Number>().DoubleValue();
  const double epoch = info[3].As<Napi::Number>().DoubleValue();
  const double seq = info[4].As<Napi::Number>().DoubleValue();
  if (!IsIndex(at) || !IsIndex(avail) || !IsIndex(epoch) || !IsIndex(seq) || avail > static_cast<double>(bytes.ElementLength())) {
    Napi::RangeError::New(env, "journalScan: the range is not inside the bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint8_t* base = bytes.Data();
  const size_t end = static_cast<size_t>(avail);
  const uint64_t wantEpoch = static_cast<uint64_t>(epoch);
  uint64_t want = static_cast<uint64_t>(seq);
  const size_t room = out.ElementLength() / 2;
  size_t pos = static_cast<size_t>(at);
  size_t found = 0;
  while (found < room && pos <= end && end - pos >= kHeader) {
    const uint8_t* h = base + pos;
    if (Load<uint32_t>(h) != kMagic || Load<uint64_t>(h + 8) != wantEpoch || Load<uint64_t>(h + 16) != want) break;
    const size_t length = Load<uint32_t>(h + 24);
    if (length > end - pos - kHeader) break;
    const size_t stop = pos + kHeader + length;
    if (Crc32c(h + 8, stop - pos - 8) != Load<uint32_t>(h + 4)) break;
    out[2 * found] = static_cast<double>(stop);
    out[2 * found + 1] = static_cast<double>(Load<uint32_t>(h + 28));
    found++;
    want++;
    pos = (stop + kAlign - 1) / kAlign * kAlign;
  }
  return Napi::Number::New(env, static_cast<double>(found));
}

}  // namespace pmemdax
