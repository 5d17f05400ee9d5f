#include "errors.h"

#include <uv.h>

namespace pmemdax {

namespace {

void AttachContext(Napi::Env env, Napi::Object obj, const ErrorContext& ctx) {
  if (!ctx.path.empty()) obj.Set("path", Napi::String::New(env, ctx.path));
  if (ctx.offset >= 0) obj.Set("offset", Napi::Number::New(env, static_cast<double>(ctx.offset)));
  if (ctx.length >= 0) obj.Set("length", Napi::Number::New(env, static_cast<double>(ctx.length)));
}

}  // namespace

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const ErrorContext& ctx) {
  return ErrnoError(env, err, syscall, ctx, std::string());
}

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const ErrorContext& ctx, const std::string& detail) {
  // libuv's names and messages are the ones Node's own fs errors carry, so reuse them.
  const char* code = uv_err_name(-err);
  std::string message = std::string(code) + ": " + uv_strerror(-err) + ", " + syscall;
  if (!ctx.path.empty()) message += " '" + ctx.path + "'";
  if (ctx.offset >= 0) message += " at offset " + std::to_string(ctx.offset);
  if (!detail.empty()) message += " (" + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("errno", Napi::Number::New(env, -err));
  obj.Set("code", Napi::String::New(env, code));
  obj.Set("syscall", Napi::String::New(env, syscall));
  AttachContext(env, obj, ctx);
  return error;
}

Napi::Error PmemdaxError(Napi::Env env, const char* code, const std::string& message, const ErrorContext& ctx) {
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("code", Napi::String::New(env, code));
  AttachContext(env, obj, ctx);
  return error;
}

Napi::Error RangeErr(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::RangeError::New(env, message);
  error.Value().Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  return error;
}

Napi::Error TypeErr(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, message);
  error.Value().Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  return error;
}

}  // namespace pmemdax
