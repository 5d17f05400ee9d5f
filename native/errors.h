// errors -- the one place that turns errno values and pmemdax conditions into JavaScript errors. They are
// instances of the classes lib/errors.ts hands over once at load (setErrorClasses), kept in the env's
// instance data: errors.cpp owns that slot.
#pragma once
#include <napi.h>
#include <cstdint>
#include <string>

namespace pmemdax {

// Extra fields attached to an error in the style of Node's fs errors.
struct ErrorContext {
  std::string path;
  int64_t offset = -1;  // device or file byte offset the error concerns, -1 when none
  int64_t length = -1;
};

// ErrnoError -- `code`, negative `errno`, `syscall`, `path` and offsets, message as Node's fs formats it.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const ErrorContext& ctx = {});
// … with `detail` (why, when the errno alone does not say) appended to the message in parentheses.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const ErrorContext& ctx, const std::string& detail);

// PmemdaxError -- a condition that is not an errno: `code` is ERR_PMEMDAX_<name>.
Napi::Error PmemdaxError(Napi::Env env, const char* code, const std::string& message, const ErrorContext& ctx = {});

// Misuse that native code must still refuse (a bad offset here would be memory corruption).
Napi::Error RangeErr(Napi::Env env, const std::string& message);
Napi::Error TypeErr(Napi::Env env, const std::string& message);

// setErrorClasses(PmemdaxError, PmemdaxTypeError, PmemdaxRangeError) -- the classes errors are made from:
// `new C(code, message)`, the RangeError class `new C(message)` (it has one code). Until then errors are
// plain Error, TypeError and RangeError.
Napi::Value SetErrorClasses(const Napi::CallbackInfo& info);

}  // namespace pmemdax
