// args -- reading the numbers and byte views that JavaScript passes to native entry points.
#pragma once
#include <node_api.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace pmemdax {

// The number in `v`, or NaN when it is not one: every range check fails on NaN, so a value the TypeScript
// layer should have refused cannot reach memory as 0.
inline double NumberArg(napi_env env, napi_value v) {
  double d = std::nan("");
  napi_get_value_double(env, v, &d);
  return d;
}

// A count from NumberArg (a size, an index, a mode): 0 for NaN and negatives, where a plain cast is undefined.
inline uint64_t CountArg(double d) { return d > 0 && d < 0x1p64 ? static_cast<uint64_t>(d) : 0; }

// Reads the bytes of any ArrayBufferView; false if `v` is not one.
bool ViewBytes(napi_env env, napi_value v, uint8_t** data, size_t* len);

}  // namespace pmemdax
