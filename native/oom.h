// oom -- what an entry point does with std::bad_alloc: a C++ exception must never cross N-API (it would
// terminate the process), so every entry point catches it and throws this JavaScript error instead.
#pragma once
#include <node_api.h>

#include <new>

namespace pmemdax {

// Throws `ENOMEM` built from constant text only: under memory pressure nothing else may be allocated here.
inline void ThrowOutOfMemory(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  napi_throw_error(env, "ENOMEM", "ENOMEM: not enough memory for the native side of this call");
}

// Runs `body` (which returns a napi_value or Napi::Value) and turns std::bad_alloc into ThrowOutOfMemory.
template <typename Result, typename Body>
Result CatchOutOfMemory(napi_env env, Body body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    ThrowOutOfMemory(env);
    return Result();
  }
}

}  // namespace pmemdax
