#include "journal_touches.h"

#include <cstdint>

#include "journal_record.h"

namespace pmemdax {

using journal::IsIndex;
using journal::kAlign;
using journal::kHeader;
using journal::Load;

namespace {

// Operation layout (docs/format.md, "Journal records").
enum Op : uint8_t { kCreate = 1, kName = 2, kDrop = 3, kAttr = 4, kMap = 5, kAlloc = 6, kFree = 7, kRef = 8 };
// Bytes after the code, a name's own bytes not counted (index: the code).
constexpr size_t kOpBytes[] = {0, 4 + 8 + 2, 4 + 2, 4, 4 + 8 + 8, 4 + 4 + 4 + 4 + 1, 4 + 4, 4 + 4, 4 + 4};
constexpr uint32_t kRefChanged = 1;

// FNV-1a, its top 30 bits (a small integer in JavaScript): lib/pool/journal-touches.ts hashes a name the
// same way to ask about it.
uint32_t Fnv1a(const uint8_t* p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h >> 2;
}

struct Out {
  uint32_t* cells;
  size_t inos = 0;   // written from cells[3] up
  size_t names = 0;  // written from cells[size - 1] down
  size_t size;
  uint32_t last = 0;
  bool any = false;

  bool Ino(uint32_t ino) {
    // Operations of one inode come together (a create, its mappings, its attributes): one entry for them.
    if (any && last == ino) return true;
    if (3 + inos + names >= size) return false;
    cells[3 + inos++] = ino;
    last = ino;
    any = true;
    return true;
  }

  bool Name(uint32_t hash) {
    if (3 + inos + names >= size) return false;
    cells[size - 1 - names++] = hash;
    return true;
  }
};

// The operations of one record, [p, stop): false when one cannot be read or `out` is full.
bool Walk(const uint8_t* p, const uint8_t* stop, uint32_t count, Out& out, uint32_t& flags) {
  for (uint32_t k = 0; k < count; k++) {
    if (p >= stop) return false;
    const uint8_t code = *p++;
    if (code < kCreate || code > kRef || static_cast<size_t>(stop - p) < kOpBytes[code]) return false;
    const uint8_t* next = p + kOpBytes[code];
    if (code <= kMap && !out.Ino(Load<uint32_t>(p))) return false;
    if (code == kCreate || code == kName) {
      const size_t n = Load<uint16_t>(next - 2);
      if (static_cast<size_t>(stop - next) < n) return false;
      if (n > 0 && !out.Name(Fnv1a(next, n))) return false;
      next += n;
    }
    if (code == kRef) flags |= kRefChanged;
    p = next;
  }
  return true;
}

}  // namespace

Napi::Value JournalTouchesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsTypedArray() ||
      info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || !info[4].IsNumber() || !info[5].IsNumber() ||
      !info[6].IsTypedArray() || info[6].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    Napi::TypeError::New(env,
                         "journalTouches(bytes: Uint8Array, base: number, at: number, ends: Float64Array, first: number, n: number, "
                         "out: Uint32Array)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  Napi::Float64Array ends = info[3].As<Napi::Float64Array>();
  Napi::Uint32Array cells = info[6].As<Napi::Uint32Array>();
  const double base = info[1].As<Napi::Number>().DoubleValue();
  const double at = info[2].As<Napi::Number>().DoubleValue();
  const double first = info[4].As<Napi::Number>().DoubleValue();
  const double n = info[5].As<Napi::Number>().DoubleValue();
  if (!IsIndex(base) || !IsIndex(at) || at < base || !IsIndex(first) || !IsIndex(n) ||
      first + n * 2 > static_cast<double>(ends.ElementLength()) || cells.ElementLength() < 3) {
    Napi::RangeError::New(env, "journalTouches: the records are not inside the arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Offsets below are into `bytes`: journal offsets less `base`.
  const double limit = base + static_cast<double>(bytes.ElementLength());
  const uint8_t* data = bytes.Data();
  Out out{cells.Data(), 0, 0, cells.ElementLength()};
  uint32_t flags = 0;
  const size_t origin = static_cast<size_t>(base);
  size_t start = static_cast<size_t>(at - base);
  bool ok = true;
  for (size_t k = static_cast<size_t>(first), stop_k = k + 2 * static_cast<size_t>(n); ok && k < stop_k; k += 2) {
    const double end = ends[k];
    const double count = ends[k + 1];
    if (!IsIndex(end) || !IsIndex(count) || count > 0xffffffff || end > limit || base + start + kHeader > end) {
      ok = false;
      break;
    }
    const size_t stop = static_cast<size_t>(end - base);
    ok = Walk(data + start + kHeader, data + stop, static_cast<uint32_t>(count), out, flags);
    start = (origin + stop + kAlign - 1) / kAlign * kAlign - origin;
  }
  cells[0] = static_cast<uint32_t>(out.inos);
  cells[1] = static_cast<uint32_t>(out.names);
  cells[2] = flags;
  return Napi::Number::New(env, ok ? 0 : -1);
}

}  // namespace pmemdax
