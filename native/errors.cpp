#include "errors.h"

#include <uv.h>

namespace pmemdax {

namespace {

// The classes lib/errors.ts handed over, per environment (each worker loads lib/errors.ts anew).
struct ErrorClasses {
  Napi::FunctionReference error;
  Napi::FunctionReference type;
  Napi::FunctionReference range;
};

enum class Kind { kError, kType, kRange };

// MakeError -- an instance of the class handed over for `kind` (see SetErrorClasses in errors.h), or the
// plain built-in error with `code` set before any class was.
Napi::Error MakeError(Napi::Env env, Kind kind, const char* code, const std::string& message) {
  ErrorClasses* classes = env.GetInstanceData<ErrorClasses>();
  if (classes == nullptr) {
    Napi::Error error = kind == Kind::kType    ? Napi::TypeError::New(env, message)
                        : kind == Kind::kRange ? Napi::RangeError::New(env, message)
                                               : Napi::Error::New(env, message);
    error.Value().Set("code", Napi::String::New(env, code));
    return error;
  }
  Napi::String text = Napi::String::New(env, message);
  Napi::Value value = kind == Kind::kRange ? classes->range.New({text})
                                           : (kind == Kind::kType ? classes->type : classes->error).New({Napi::String::New(env, code), text});
  // A constructor that threw: report what it threw rather than lose the error.
  if (value.IsEmpty()) return env.GetAndClearPendingException();
  return Napi::Error(env, value);
}

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
  Napi::Error error = MakeError(env, Kind::kError, code, message);
  Napi::Object obj = error.Value();
  obj.Set("errno", Napi::Number::New(env, -err));
  obj.Set("syscall", Napi::String::New(env, syscall));
  AttachContext(env, obj, ctx);
  return error;
}

Napi::Error PmemdaxError(Napi::Env env, const char* code, const std::string& message, const ErrorContext& ctx) {
  Napi::Error error = MakeError(env, Kind::kError, code, message);
  AttachContext(env, error.Value(), ctx);
  return error;
}

Napi::Error RangeErr(Napi::Env env, const std::string& message) {
  return MakeError(env, Kind::kRange, "ERR_OUT_OF_RANGE", message);
}

Napi::Error TypeErr(Napi::Env env, const std::string& message) {
  return MakeError(env, Kind::kType, "ERR_INVALID_ARG_TYPE", message);
}

Napi::Value SetErrorClasses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsFunction() || !info[1].IsFunction() || !info[2].IsFunction()) {
    TypeErr(env, "setErrorClasses needs three classes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ErrorClasses* classes = env.GetInstanceData<ErrorClasses>();
  if (classes == nullptr) {
    classes = new ErrorClasses();
    env.SetInstanceData(classes);
  }
  // A second call (lib/errors.ts loaded again) replaces the classes: the newest module's errors win.
  classes->error = Napi::Persistent(info[0].As<Napi::Function>());
  classes->type = Napi::Persistent(info[1].As<Napi::Function>());
  classes->range = Napi::Persistent(info[2].As<Napi::Function>());
  return env.Undefined();
}

}  // namespace pmemdax
