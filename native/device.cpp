#include "device.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "args.h"
#include "badblocks.h"
#include "deep_flush_linux.h"
#include "errors.h"
#include "oom.h"
#include "recovery_write.h"
#include "sigbus.h"
#include "units.h"

namespace pmemdax {

namespace {

// Marks NativeDevice objects, so that one passed back from JavaScript is known to be one before it is unwrapped.
constexpr napi_type_tag kDeviceTag = {0x706d656d64617864ull, 0x9d3c5a1e47b2f680ull};

}  // namespace

void MappedSource::Release() {
  Unmap(&map);
  if (fd >= 0) close(fd);
  fd = -1;
}

Device* Device::FromValue(napi_env env, napi_value value) {
  bool tagged = false;
  if (napi_check_object_type_tag(env, value, &kDeviceTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* device = nullptr;
  return napi_unwrap(env, value, &device) == napi_ok ? static_cast<Device*>(device) : nullptr;
}

template <Napi::Value (Device::*Method)(const Napi::CallbackInfo&)>
Napi::Value Device::Safe(const Napi::CallbackInfo& info) {
  return CatchOutOfMemory<Napi::Value>(info.Env(), [&] { return (this->*Method)(info); });
}

Napi::Function Device::Init(Napi::Env env) {
  return DefineClass(env, "NativeDevice",
                     {
                         InstanceMethod("info", &Device::Safe<&Device::Info>),
                         InstanceMethod("window", &Device::Safe<&Device::Window>),
                         InstanceMethod("hot", &Device::Safe<&Device::Hot>),
                         InstanceMethod("badblocks", &Device::Safe<&Device::Badblocks>),
                         InstanceMethod("clearBadblocks", &Device::Safe<&Device::ClearBadblocks>),
                         InstanceMethod("deepFlush", &Device::Safe<&Device::DeepFlush>),
                         InstanceMethod("stats", &Device::Safe<&Device::Stats>),
                         InstanceMethod("lock", &Device::Safe<&Device::Lock>),
                         InstanceMethod("unlock", &Device::Safe<&Device::Unlock>),
                         InstanceMethod("rangeLock", &Device::Safe<&Device::RangeLock>),
                         InstanceMethod("rangeConflict", &Device::Safe<&Device::RangeConflict>),
                         InstanceMethod("watchInPlace", &Device::Safe<&Device::WatchInPlace>),
                         InstanceMethod("unwatchInPlace", &Device::Safe<&Device::UnwatchInPlace>),
                         InstanceMethod("unlinkCreated", &Device::Safe<&Device::UnlinkCreated>),
                         InstanceMethod("close", &Device::Safe<&Device::Close>),
                         InstanceMethod("persistAsync", &Device::Safe<&Device::PersistAsync>),
                         InstanceMethod("writeAsync", &Device::Safe<&Device::WriteAsync>),
                         InstanceMethod("waitJobs", &Device::Safe<&Device::WaitJobs>),
                         InstanceMethod("grow", &Device::Safe<&Device::Grow>),
                         StaticValue("hotPath", HotPath(env)),
                     });
}

// new NativeDevice(path, create, size, readonly, windowBytes, lock?, growExisting?, mode?, maxSize?)
Device::Device(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Device>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString()) {
    TypeErr(env, "NativeDevice(path, create, size, readonly, windowBytes)").ThrowAsJavaScriptException();
    return;
  }
  env_ = env;
  napi_type_tag_object(env, info.This(), &kDeviceTag);
  window_bytes_ = CountArg(NumberArg(env, info[4]));
  OpenRequest req;
  req.create = info[1].ToBoolean();
  req.size = CountArg(NumberArg(env, info[2]));
  req.readonly = info[3].ToBoolean();
  const double lock = NumberArg(env, info[5]);
  req.lock = lock == static_cast<double>(LockMode::kExclusive) ? LockMode::kExclusive
             : lock == static_cast<double>(LockMode::kShared) ? LockMode::kShared
                                                              : LockMode::kNone;
  req.grow_existing = info.Length() <= 6 || info[6].ToBoolean();
  if (info.Length() > 7) req.mode = static_cast<mode_t>(CountArg(NumberArg(env, info[7])) & 07777);
  if (info.Length() > 8) req.max_size = CountArg(NumberArg(env, info[8]));
  if (!Open(env, info[0].As<Napi::String>().Utf8Value(), req)) return;
  InstallSigbusHandler();
  napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
  cleanup_hook_ = true;
}

Device::~Device() {
  // Before the descriptor and the job gate it uses go.
  in_place_watch_.reset();
  // Finalizer path: the JS handle is gone but views may not be; they keep the mapping via their own refs.
  if (cleanup_hook_) napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
  cleanup_hook_ = false;
  mapped_.reset();
}

void Device::OnEnvCleanup(void* arg) {
  // The environment is going away (process exit or worker termination): no JavaScript runs after this,
  // so unmapping under live views is safe. Shutdown waits for the jobs on the I/O threads before it
  // releases the mapping and the descriptor, or a queued pwrite could land in whatever file reuses the
  // descriptor's number.
  auto* self = static_cast<Device*>(arg);
  self->cleanup_hook_ = false;
  self->Shutdown(nullptr);
}

void Device::Shutdown(Napi::Env* env) {
  if (env != nullptr) {
    auto detach = [](Napi::Reference<Napi::ArrayBuffer>& ref) {
      if (ref.IsEmpty()) return;
      Napi::ArrayBuffer ab = ref.Value();
      if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
    };
    for (auto& w : windows_) {
      detach(w.newest);
      for (auto& ref : w.older) detach(ref);
    }
  }
  // The handle may wait a while for the garbage collector: it keeps its path (for errors) and no more.
  std::vector<WindowBuffers>().swap(windows_);
  std::vector<std::string>().swap(notes_);
  src_ = SourceInfo{};
  base_ = nullptr;
  EndInPlaceWatch();  // its thread uses the descriptor
  jobs_.WaitIdle();  // persistAsync jobs still msync through the mapping
  if (mapped_) mapped_->Release();
  mapped_.reset();
}

bool Device::CheckOpen(Napi::Env env) {
  if (base_ != nullptr) return true;
  PmemdaxError(env, "ERR_PMEMDAX_CLOSED", "the device '" + path_ + "' is closed", ErrorContext{path_})
      .ThrowAsJavaScriptException();
  return false;
}

bool Device::CheckWritable(Napi::Env env) {
  if (!CheckOpen(env)) return false;
  if (writable_) return true;
  PmemdaxError(env, "ERR_PMEMDAX_READONLY", "the device '" + path_ + "' was opened read-only", ErrorContext{path_})
      .ThrowAsJavaScriptException();
  return false;
}

bool Device::CheckRange(Napi::Env env, double offset, double length) {
  // Re-checked here because a bad range in native code corrupts memory instead of throwing.
  if (offset >= 0 && length >= 0 && offset + length <= static_cast<double>(size_)) return true;
  RangeErr(env, "range [" + std::to_string(static_cast<int64_t>(offset)) + ", +" + std::to_string(static_cast<int64_t>(length)) +
                    ") is outside the device (" + std::to_string(size_) + " bytes)")
      .ThrowAsJavaScriptException();
  return false;
}

Napi::Value Device::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  auto str_or_null = [&](const std::string& s) -> Napi::Value {
    return s.empty() ? env.Null() : Napi::String::New(env, s).As<Napi::Value>();
  };
  o.Set("path", path_);
  o.Set("kind", SourceKindName(src_.kind));
  o.Set("size", static_cast<double>(size_));
  const bool growable = src_.kind != SourceKind::kDevdax;
  o.Set("maxSize", static_cast<double>(growable ? mapped_->map.reserved : size_));
  o.Set("alignment", static_cast<double>(mapped_->map.alignment));
  o.Set("deviceAlignment", static_cast<double>(src_.kind == SourceKind::kDevdax ? src_.alignment : kPageSize));
  o.Set("mapSync", mapped_->map.map_sync);
  o.Set("mapSyncReason", str_or_null(mapped_->map.map_sync_reason));
  o.Set("granularity", persist_.GranularityName());
  o.Set("flush", persist_.FlushName());
  const StorePolicy& policy = persist_.Policy();
  o.Set("copyKernel", policy.kernel->name);
  o.Set("movntThreshold", policy.movnt_threshold == SIZE_MAX ? -1.0 : static_cast<double>(policy.movnt_threshold));
  o.Set("pmem", src_.pmem);
  o.Set("volatile", src_.volatile_memory);
  o.Set("blockDevice", str_or_null(src_.device_name));
  o.Set("region", str_or_null(src_.region));
  o.Set("persistenceDomain", str_or_null(src_.persistence_domain));
  o.Set("deepFlushAvailable", src_.deep_flush);
  o.Set("numaNode", src_.numa_node < 0 ? env.Null() : Napi::Number::New(env, src_.numa_node).As<Napi::Value>());
  o.Set("unsafeShutdownCount", src_.unsafe_shutdown < 0 ? env.Null()
                                                         : Napi::Number::New(env, static_cast<double>(src_.unsafe_shutdown)).As<Napi::Value>());
  Napi::Array notes = Napi::Array::New(env, notes_.size());
  for (size_t i = 0; i < notes_.size(); ++i) notes.Set(i, notes_[i]);
  o.Set("notes", notes);
  o.Set("windowBytes", static_cast<double>(window_bytes_));
  o.Set("writable", writable_);
  o.Set("created", created_);
  o.Set("devMajor", static_cast<double>(src_.dev_major));
  o.Set("devMinor", static_cast<double>(src_.dev_minor));
  return o;
}

// window(index) -> ArrayBuffer over window `index`, [index*windowBytes, min(size, (index+1)*windowBytes)): one
// buffer per window for the device's lifetime, as V8 must never see two ArrayBuffers over the same memory. A
// window whose buffer ended at the size before a grow keeps it; the next call gives a buffer over the rest,
// from where the newest one ends.
Napi::Value Device::Window(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  // V8 makes no ArrayBuffer over 4 GiB (asking aborted the process); the TypeScript layer never asks.
  if (window_bytes_ == 0 || window_bytes_ > kMaxArrayBufferBytes) {
    RangeErr(env, "windowBytes must be between 1 byte and 4 GiB").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double idx = NumberArg(env, info[0]);
  uint64_t count = (size_ + window_bytes_ - 1) / window_bytes_;
  if (!(idx >= 0 && idx < static_cast<double>(count))) {
    RangeErr(env, "window index out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t i = static_cast<size_t>(idx);
  if (windows_.size() < count) windows_.resize(count);
  WindowBuffers& w = windows_[i];
  uint64_t start = i * window_bytes_;
  uint64_t end = size_ - start < window_bytes_ ? size_ : start + window_bytes_;
  if (!w.newest.IsEmpty()) {
    if (w.end == end) return w.newest.Value();
    start = w.end;
    w.older.push_back(std::move(w.newest));
  }
  auto* hint = new std::shared_ptr<MappedSource>(mapped_);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      env, base_ + start, end - start, [](Napi::Env, void*, std::shared_ptr<MappedSource>* h) { delete h; }, hint);
  w.newest = Napi::Persistent(ab);
  w.end = end;
  return ab;
}

napi_value Device::ThrowFault(napi_env env, const MappingFault& fault, const char* syscall, bool store) {
  FaultCause cause = ExplainFault(mapped_->fd, src_, size_, fault, store);
  ErrnoError(Napi::Env(env), cause.err, syscall, ErrorContext{path_, static_cast<int64_t>(fault.offset), -1}, cause.detail)
      .ThrowAsJavaScriptException();
  return nullptr;
}

// badblocks() -> Float64Array [offset0, length0, …], re-read from sysfs on every call.
Napi::Value Device::Badblocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  std::vector<ByteRange> bad;
  int err = ReadBadblocks(mapped_->fd, src_, size_, &bad);
  if (err != 0) {
    ErrnoError(env, err, "badblocks", ErrorContext{path_}).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, bad.size() * 2);
  for (size_t i = 0; i < bad.size(); ++i) {
    out[2 * i] = static_cast<double>(bad[i].offset);
    out[2 * i + 1] = static_cast<double>(bad[i].length);
  }
  return out;
}

// clearBadblocks(offset, length, data | undefined): a page-aligned recovery write of `data` (or zeros).
Napi::Value Device::ClearBadblocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double off = NumberArg(env, info[0]), len = NumberArg(env, info[1]);
  if (!CheckWritable(env) || !CheckRange(env, off, len)) return env.Undefined();
  ErrorContext ctx{path_, static_cast<int64_t>(off), static_cast<int64_t>(len)};
  if (src_.kind == SourceKind::kDevdax) {
    PmemdaxError(env, "ERR_PMEMDAX_CLEAR_UNSUPPORTED",
                 "device-dax has no in-band way to clear poison: clear it with the platform (e.g. `ndctl clear-errors` on "
                 "the namespace), then overwrite the data",
                 ctx)
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint64_t o = static_cast<uint64_t>(off), n = static_cast<uint64_t>(len);
  std::vector<uint8_t> zeros;
  uint8_t* data = nullptr;
  size_t data_len = 0;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!ViewBytes(env, info[2], &data, &data_len) || data_len != n) {
      TypeErr(env, "data must be an ArrayBufferView of exactly `length` bytes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  } else {
    zeros.assign(n, 0);
    data = zeros.data();
  }
  SyscallFailure failure;
  if (!RecoveryWrite(mapped_->fd, src_, size_, o, data, n, &failure)) {
    ErrnoError(env, failure.err, failure.syscall,
               ErrorContext{path_, static_cast<int64_t>(failure.offset), static_cast<int64_t>(failure.length)})
        .ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// deepFlush(offset, length) -> a DeepFlushResult: 0 done, 1 not needed, 2 not permitted. The range is persisted first; the
// region's deep_flush control then drains the memory controller's write-pending queues too.
Napi::Value Device::DeepFlush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double off = NumberArg(env, info[0]), len = NumberArg(env, info[1]);
  if (!CheckOpen(env) || !CheckRange(env, off, len)) return env.Undefined();
  MappingFault fault;
  uint64_t o = static_cast<uint64_t>(off), n = static_cast<uint64_t>(len);
  if (!CheckFlushed(env, persist_.Persist(o, n, &fault), fault, o, n)) return env.Undefined();
  DeepFlushFailure failure;
  DeepFlushResult result = DeepFlushRegion(src_, &failure);
  if (result == DeepFlushResult::kFailed) {
    ErrnoError(env, failure.err, failure.syscall, ErrorContext{failure.control}).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<int>(result));
}

Napi::Value Device::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const DeviceStats& stats = persist_.Stats();
  o.Set("flushedLines", static_cast<double>(stats.flushed_lines));
  o.Set("flushCalls", static_cast<double>(stats.flush_calls));
  o.Set("drains", static_cast<double>(stats.drains));
  o.Set("msyncs", static_cast<double>(stats.msyncs));
  o.Set("asyncPersists", static_cast<double>(stats.async_persists));
  return o;
}

// lock(exclusive) -> false when another open file description holds a conflicting lock. flock, not fcntl:
// its locks belong to this descriptor alone, so two opens in one process exclude each other too, and the
// lock goes when the descriptor is closed (device close, or the process's end).
Napi::Value Device::Lock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  const bool exclusive = info[0].ToBoolean();
  int err = TryLock(mapped_->fd, exclusive ? LockMode::kExclusive : LockMode::kShared);
  // A refused change of mode may have dropped the lock held before (flock converts non-atomically).
  lock_ = err == 0 ? (exclusive ? LockMode::kExclusive : LockMode::kShared) : LockMode::kNone;
  if (err == 0) return Napi::Boolean::New(env, true);
  if (err == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  ErrnoError(env, err, "flock", ErrorContext{path_}).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value Device::Unlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  int err = TryLock(mapped_->fd, LockMode::kNone);
  lock_ = LockMode::kNone;
  if (err != 0) ErrnoError(env, err, "flock", ErrorContext{path_}).ThrowAsJavaScriptException();
  return env.Undefined();
}

namespace {

// A byte range of a range lock: two BigInts (offsets past 2^53 are the point of them), start >= 0, length >= 1,
// end within off_t. False, with a JavaScript error thrown, otherwise (lib/device checks first: misuse only).
bool RangeArgs(const Napi::CallbackInfo& info, int64_t* start, int64_t* length, LockMode* mode) {
  Napi::Env env = info.Env();
  if (!info[0].IsBigInt() || !info[1].IsBigInt() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "rangeLock: (start: bigint, length: bigint, mode: number)").ThrowAsJavaScriptException();
    return false;
  }
  bool exact = false, exact_length = false;
  *start = info[0].As<Napi::BigInt>().Int64Value(&exact);
  *length = info[1].As<Napi::BigInt>().Int64Value(&exact_length);
  if (!exact || !exact_length || *start < 0 || *length < 1 || *start > INT64_MAX - *length) {
    Napi::RangeError::New(env, "rangeLock: the range must lie within [0, 2^63)").ThrowAsJavaScriptException();
    return false;
  }
  const uint32_t m = info[2].As<Napi::Number>().Uint32Value();
  *mode = m == static_cast<uint32_t>(LockMode::kExclusive) ? LockMode::kExclusive
          : m == static_cast<uint32_t>(LockMode::kShared)  ? LockMode::kShared
                                                           : LockMode::kNone;
  return true;
}

}  // namespace

// rangeLock(start, length, mode) -> false when another open file description holds a conflicting lock on
// the range; mode NONE unlocks it. An fcntl OFD lock: per open, released with the descriptor.
Napi::Value Device::RangeLock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  int64_t start = 0, length = 0;
  LockMode mode = LockMode::kNone;
  if (!RangeArgs(info, &start, &length, &mode)) return env.Undefined();
  const int err = pmemdax::RangeLock(mapped_->fd, start, length, mode);
  if (err == 0 || err == EAGAIN) return Napi::Boolean::New(env, err == 0);
  ErrnoError(env, err, "fcntl", ErrorContext{path_}).ThrowAsJavaScriptException();
  return env.Undefined();
}

// rangeConflict(start, length, mode) -> the first byte (a BigInt) of one lock another open holds that a lock
// of `mode` on the range would conflict with, or null when none would.
Napi::Value Device::RangeConflict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  int64_t start = 0, length = 0;
  LockMode mode = LockMode::kNone;
  if (!RangeArgs(info, &start, &length, &mode)) return env.Undefined();
  bool found = false;
  int64_t held = 0;
  const int err = pmemdax::RangeConflict(mapped_->fd, start, length, mode == LockMode::kNone ? LockMode::kExclusive : mode, &found, &held);
  if (err != 0) {
    ErrnoError(env, err, "fcntl", ErrorContext{path_}).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return found ? Napi::Value(Napi::BigInt::New(env, held)) : env.Null();
}

// watchInPlace(slots: Int32Array over a SharedArrayBuffer, lockAt, claimsStart, claimsLength: bigint): the pool
// writer took its in-place lock (slots[0] says so); a thread of this device watches it from now
// (in_place_watch.h), started on the first call with these bytes and woken on the next ones. Its thread says in
// slot kInPlaceBarrier when it makes the barrier the writer's store to slot kInPlaceWriting needs.
Napi::Value Device::WatchInPlace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[0].As<Napi::Int32Array>().ElementLength() < kInPlaceSlots || !info[1].IsBigInt() || !info[2].IsBigInt() ||
      !info[3].IsBigInt()) {
    Napi::TypeError::New(env, "watchInPlace: (slots: Int32Array, lockAt: bigint, claimsStart: bigint, claimsLength: bigint)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Int32Array slots = info[0].As<Napi::Int32Array>();
  // A pool writer that closed without ending its watch (an error on its way out) left one over other slots.
  if (in_place_watch_ != nullptr && in_place_watch_->Slots() != slots.Data()) EndInPlaceWatch();
  if (in_place_watch_ == nullptr) {
    bool exact = false;
    InPlaceBytes bytes;
    bytes.lock_at = info[1].As<Napi::BigInt>().Int64Value(&exact);
    bytes.claims_start = info[2].As<Napi::BigInt>().Int64Value(&exact);
    bytes.claims_length = info[3].As<Napi::BigInt>().Int64Value(&exact);
    try {
      in_place_watch_ = std::make_unique<InPlaceWatch>(mapped_->fd, &jobs_, slots.Data(), bytes);
    } catch (const std::system_error& e) {
      // No thread to be had (EAGAIN): thrown on, the writer's own timer watches instead (in-place-gate.ts).
      ErrnoError(env, e.code().value(), "pthread_create", ErrorContext{path_}).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    in_place_slots_ = Napi::Persistent(slots);
  }
  in_place_watch_->Wake();
  return env.Undefined();
}

// unwatchInPlace() -> the writer is done with its in-place lock: the watch's thread ends.
Napi::Value Device::UnwatchInPlace(const Napi::CallbackInfo& info) {
  EndInPlaceWatch();
  return info.Env().Undefined();
}

void Device::EndInPlaceWatch() {
  in_place_watch_.reset();
  in_place_slots_.Reset();
}

// unlinkCreated() -> whether the path was removed: only when this open created the file, still holds the
// exclusive lock on it, and the path still names it. Under that lock no other open that locks can have
// taken the file over, and racers that opened it meanwhile find it unlinked once they lock and start again.
Napi::Value Device::UnlinkCreated(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  if (!created_ || lock_ != LockMode::kExclusive || !NamesFile(path_, mapped_->fd)) return Napi::Boolean::New(env, false);
  if (unlink(path_.c_str()) != 0) {
    ErrnoError(env, errno, "unlink", ErrorContext{path_}).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  created_ = false;
  return Napi::Boolean::New(env, true);
}

// grow(size): the file extended (allocated) to `size` bytes and mapped on after the old end, in the address
// space reserved at open, with the mapping's flags. Nothing moves: windows, views and jobs in flight (which
// checked their ranges against the size when they were made) keep their memory.
//
// On a read-only open, grow(size) maps a file another open grew: nothing is extended, and a file shorter
// than `size` is refused (a store-free mapping past the end of a file would raise SIGBUS on the first read).
Napi::Value Device::Grow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double want = NumberArg(env, info[0]);
  if (!CheckOpen(env)) return env.Undefined();
  ErrorContext ctx{path_};
  if (!(want >= 0 && want <= 9007199254740991.0 && want == static_cast<double>(static_cast<uint64_t>(want)))) {
    RangeErr(env, "size must be a safe integer of bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint64_t size = static_cast<uint64_t>(want);
  auto refuse = [&](const std::string& why) {
    PmemdaxError(env, "ERR_PMEMDAX_SIZE", "'" + path_ + "' " + why, ctx).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  if (src_.kind == SourceKind::kDevdax) return refuse("is device-dax, whose size is its region's: it cannot grow");
  if (size < size_) return refuse("has " + std::to_string(size_) + " bytes: a device cannot shrink to " + std::to_string(size));
  if (size == size_) return env.Undefined();
  const uint64_t reserved = mapped_->map.reserved;
  if (((size + kPageSize - 1) & ~(kPageSize - 1)) > reserved) {
    return refuse("cannot grow to " + std::to_string(size) + " bytes: its open reserved address space for " +
                  std::to_string(reserved) + " (the maxSize option)");
  }
  // The file first: no byte is mapped that the file does not hold.
  int err = 0;
  if (writable_) {
    err = AllocateFile(mapped_->fd, size);
    if (err != 0) {
      ErrnoError(env, err, "fallocate", ctx).ThrowAsJavaScriptException();
      return env.Undefined();
    }
  } else {
    struct stat st;
    if (fstat(mapped_->fd, &st) != 0) {
      ErrnoError(env, errno, "fstat", ctx).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (static_cast<uint64_t>(st.st_size) < size) {
      return refuse("holds " + std::to_string(st.st_size) + " bytes: a read-only open cannot map " + std::to_string(size));
    }
  }
  err = GrowMapping(mapped_->fd, &mapped_->map, size, writable_);
  if (err != 0) {
    ErrnoError(env, err, "mmap", ctx).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_ = size;
  src_.size = size;
  persist_.Resize(size);
  return env.Undefined();
}

Napi::Value Device::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (cleanup_hook_) napi_remove_env_cleanup_hook(env, OnEnvCleanup, this);
  cleanup_hook_ = false;
  Shutdown(&env);
  return env.Undefined();
}

}  // namespace pmemdax
