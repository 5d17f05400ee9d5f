#include "device.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cmath>
#include <cstring>

#include "badblocks.h"
#include "errors.h"
#include "flush.h"
#include "guarded_store.h"
#include "oom.h"
#include "sigbus.h"

namespace pmemdax {

namespace {

constexpr uint64_t kPage = 4096;

const char* GranularityName(Granularity g) {
  switch (g) {
    case Granularity::kByte: return "byte";
    case Granularity::kCacheline: return "cacheline";
    case Granularity::kPage: break;
  }
  return "page";
}

bool ParseGranularity(const char* s, Granularity* out) {
  if (std::strcmp(s, "byte") == 0) *out = Granularity::kByte;
  else if (std::strcmp(s, "cacheline") == 0) *out = Granularity::kCacheline;
  else if (std::strcmp(s, "page") == 0) *out = Granularity::kPage;
  else return false;
  return true;
}

// Reads the bytes of any ArrayBufferView; false if `v` is not one. The typed-array query comes first and
// alone because it is the common case and fails cheaply for anything else.
bool ViewBytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  napi_typedarray_type type;
  size_t count = 0, offset = 0;
  void* p = nullptr;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &count, &p, &ab, &offset) == napi_ok) {
    // Element sizes by napi_typedarray_type; a kind this table does not know is refused rather than
    // guessed, since a wrong size would copy past the view.
    static const size_t kElem[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    if (static_cast<size_t>(type) >= sizeof kElem / sizeof kElem[0]) return false;
    *data = static_cast<uint8_t*>(p);
    *len = count * kElem[type];
    return true;
  }
  bool is = false;
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    void* p = nullptr;
    napi_value ab;
    size_t offset = 0;
    if (napi_get_dataview_info(env, v, len, &p, &ab, &offset) != napi_ok) return false;
    *data = static_cast<uint8_t*>(p);
    return true;
  }
  return false;
}

inline double Num(const Napi::CallbackInfo& info, size_t i) {
  double d = 0;
  napi_get_value_double(info.Env(), info[i], &d);  // non-numbers were refused by the TypeScript layer
  return d;
}

// True when `path` still names the file open on `fd` (same device and inode, not unlinked). A lock taken on
// a file that was removed or replaced meanwhile guards nothing, and only a file still at `path` may be
// removed by path.
bool NamesFile(const std::string& path, int fd) {
  struct stat opened, named;
  if (fstat(fd, &opened) != 0 || stat(path.c_str(), &named) != 0) return false;
  return opened.st_nlink > 0 && opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

// Only a regular file or a character device (device-dax, checked later) is mapped; a directory is EISDIR
// as open(2) would say for writing. Anything else (a FIFO, a socket, a block device) is closed unread. On
// success the descriptor is made blocking again.
bool OpenableSource(Napi::Env env, int fd, const std::string& path, const ErrorContext& ctx) {
  struct stat st;
  int err = fstat(fd, &st) == 0 ? 0 : errno;
  if (err == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) err = S_ISDIR(st.st_mode) ? EISDIR : ENODEV;
  if (err == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) err = errno;
  if (err == 0) return true;
  close(fd);
  if (err == ENODEV) {
    PmemdaxError(env, "ERR_PMEMDAX_UNSUPPORTED_SOURCE",
                 "'" + path + "' is neither a regular file nor a device-dax character device", ctx)
        .ThrowAsJavaScriptException();
  } else {
    ErrnoError(env, err, err == EISDIR ? "open" : "fstat", ctx).ThrowAsJavaScriptException();
  }
  return false;
}

int FlockRetrying(int fd, int op) {
  int rc;
  do rc = flock(fd, op);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

}  // namespace

void MappedSource::Release() {
  Unmap(&map);
  if (fd >= 0) close(fd);
  fd = -1;
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
                         InstanceMethod("unlinkCreated", &Device::Safe<&Device::UnlinkCreated>),
                         InstanceMethod("close", &Device::Safe<&Device::Close>),
                         StaticValue("hotPath", HotPath(env)),
                     });
}

// new NativeDevice(path, create, size, readonly, windowBytes, lock?, growExisting?)
Device::Device(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Device>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString()) {
    TypeErr(env, "NativeDevice(path, create, size, readonly, windowBytes)").ThrowAsJavaScriptException();
    return;
  }
  env_ = env;
  window_bytes_ = static_cast<uint64_t>(Num(info, 4));
  OpenRequest req;
  req.create = info[1].ToBoolean();
  req.size = static_cast<uint64_t>(Num(info, 2));
  req.readonly = info[3].ToBoolean();
  const double lock = info.Length() > 5 ? Num(info, 5) : 0;
  req.lock = lock == 2 ? LockMode::kExclusive : lock == 1 ? LockMode::kShared : LockMode::kNone;
  req.grow_existing = info.Length() <= 6 || info[6].ToBoolean();
  if (info.Length() > 7) req.mode = static_cast<mode_t>(Num(info, 7)) & 07777;
  if (!Open(env, info[0].As<Napi::String>().Utf8Value(), req)) return;
  InstallSigbusHandler();
  napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
  cleanup_hook_ = true;
}

Device::~Device() {
  // Finalizer path: the JS handle is gone but views may not be; they keep the mapping via their own refs.
  if (cleanup_hook_) napi_remove_env_cleanup_hook(env_, OnEnvCleanup, this);
  cleanup_hook_ = false;
  mapped_.reset();
}

void Device::OnEnvCleanup(void* arg) {
  // The environment is going away (process exit or worker termination): no JavaScript runs after this,
  // so unmapping under live views is safe.
  auto* self = static_cast<Device*>(arg);
  self->cleanup_hook_ = false;
  if (self->mapped_) self->mapped_->Release();
  self->Shutdown(nullptr);
}

bool Device::Open(Napi::Env env, const std::string& path, const OpenRequest& req) {
  path_ = path;
  ErrorContext ctx{path};
  writable_ = !req.readonly;
  // O_NONBLOCK so that opening a FIFO (or another special file) returns at once instead of waiting for
  // a writer; it is refused just below and cleared on what is kept. O_NOCTTY: a tty never becomes ours.
  int flags = (req.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  int fd = -1;
  // A lock is taken before the file is sized or read. If the file was removed or replaced between the
  // open and the lock (its creator gave up on it), the open starts again on what the path names now.
  for (int attempt = 0;; ++attempt) {
    created_ = false;
    fd = -1;
    if (req.create && !req.readonly) {
      fd = open(path.c_str(), flags | O_CREAT | O_EXCL, req.mode);
      created_ = fd >= 0;
      if (fd < 0 && errno != EEXIST) {
        ErrnoError(env, errno, "open", ctx).ThrowAsJavaScriptException();
        return false;
      }
    }
    if (fd < 0) fd = open(path.c_str(), flags);
    if (fd < 0) {
      ErrnoError(env, errno, "open", ctx).ThrowAsJavaScriptException();
      return false;
    }
    // What was opened, not what the path named a moment before: fstat on the descriptor is race-free.
    if (!OpenableSource(env, fd, path, ctx)) return false;
    if (req.lock == LockMode::kNone) break;
    int err = FlockRetrying(fd, (req.lock == LockMode::kExclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
    // A file this call created but another open locked first is that open's now: it is left alone.
    if (err == 0 && NamesFile(path, fd)) break;
    close(fd);
    if (err != 0 || attempt == 8) {
      ErrnoError(env, err != 0 ? err : EAGAIN, "flock", ctx).ThrowAsJavaScriptException();
      return false;
    }
  }
  lock_ = req.lock;
  auto fail = [&](Napi::Error e) {
    // Removed only while the path still names the file this call made (and, if asked for, locked).
    if (created_ && NamesFile(path, fd)) unlink(path.c_str());
    close(fd);
    e.ThrowAsJavaScriptException();
    return false;
  };

  int err = ClassifySource(fd, &src_);
  if (err == ENODEV) {
    return fail(PmemdaxError(env, "ERR_PMEMDAX_UNSUPPORTED_SOURCE",
                             "'" + path + "' is neither a regular file nor a device-dax character device", ctx));
  }
  if (err != 0) return fail(ErrnoError(env, err, "fstat", ctx));

  const uint64_t size = req.size;
  // Sizing an existing non-empty file may be left to the caller, which decides under the lock what it holds.
  if (src_.kind != SourceKind::kDevdax && size > src_.size && (req.grow_existing || src_.size == 0)) {
    if (req.readonly) {
      return fail(PmemdaxError(env, "ERR_PMEMDAX_SIZE", "'" + path + "' is smaller than the requested size and is opened read-only", ctx));
    }
    // Allocate, not just extend: a store through the mapping into a sparse file can raise SIGBUS on ENOSPC.
    err = posix_fallocate(fd, 0, static_cast<off_t>(size));
    if (err == EOPNOTSUPP || err == EINVAL) err = ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : errno;
    if (err != 0) return fail(ErrnoError(env, err, "fallocate", ctx));
    src_.size = size;
  }
  if (src_.kind == SourceKind::kDevdax && size > src_.size) {
    return fail(PmemdaxError(env, "ERR_PMEMDAX_SIZE", "device-dax '" + path + "' has " + std::to_string(src_.size) +
                                 " bytes, fewer than the " + std::to_string(size) + " requested", ctx));
  }
  if (src_.size == 0) {
    return fail(PmemdaxError(env, "ERR_PMEMDAX_EMPTY", "'" + path + "' is empty; pass a size to create or grow it", ctx));
  }

  // Read the override before mapping, so a bad value fails without anything to undo but the open.
  const char* forced = std::getenv("PMEMDAX_FORCE_GRANULARITY");
  Granularity forced_granularity = Granularity::kPage;
  if (forced != nullptr && *forced != '\0' && !ParseGranularity(forced, &forced_granularity)) {
    return fail(PmemdaxError(env, "ERR_PMEMDAX_BAD_ENV",
                             std::string("PMEMDAX_FORCE_GRANULARITY must be byte, cacheline or page, not '") + forced + "'"));
  }

  size_t alignment = src_.alignment > kHugeAlign ? src_.alignment : kHugeAlign;
  auto mapped = std::make_shared<MappedSource>();
  err = MapSource(fd, src_.size, alignment, writable_, !EnvFlag("PMEMDAX_NO_MAP_SYNC"), &mapped->map);
  if (err != 0) return fail(ErrnoError(env, err, "mmap", ctx));
  mapped->fd = fd;
  mapped_ = mapped;
  base_ = static_cast<uint8_t*>(mapped->map.addr);
  size_ = src_.size;
  // Kernels without STATX_ATTR_DAX still prove DAX by accepting MAP_SYNC on a pmem-backed file.
  if (src_.kind == SourceKind::kFile && src_.pmem && mapped->map.map_sync) src_.kind = SourceKind::kFsdax;
  if (src_.kind == SourceKind::kFile && src_.pmem && !mapped->map.map_sync && writable_) {
    notes_.push_back("the file is on a pmem device but its filesystem is not mounted with -o dax: stores go through the page cache");
  }

  // Persistence strategy, chosen once.
  granularity_ = Granularity::kPage;
  if (mapped->map.map_sync) {
    granularity_ = src_.persistence_domain == "cpu_cache" ? Granularity::kByte : Granularity::kCacheline;
  }
  if (forced != nullptr && *forced != '\0') {
    if (forced_granularity != granularity_) {
      notes_.push_back(std::string("granularity forced to ") + forced + " by PMEMDAX_FORCE_GRANULARITY (detected " +
                       GranularityName(granularity_) + ")");
    }
    granularity_ = forced_granularity;
  }
  // A store to a page that write-back has cleaned faults first (page_mkwrite: a filesystem transaction on
  // ext4), so on page granularity each durable store would pay a fault and an msync; pwrite fills the page
  // cache without the fault (4 KiB durable write on an ext4 disk: ~0.15 ms against 0.5-2.6 ms).
  write_through_ = granularity_ == Granularity::kPage && src_.kind != SourceKind::kDevdax && writable_;
  if (write_through_) notes_.push_back("page granularity: copies and fills are written with pwrite, then msync");
  CpuFeatures cpu = EffectiveCpu();
  flush_kind_ = PickFlush(cpu);
  policy_.kernel = &PickNtKernel(cpu);
  policy_.flush = granularity_ == Granularity::kCacheline ? FlushFunction(flush_kind_) : nullptr;
  policy_.movnt_threshold = 256;
  if (const char* t = std::getenv("PMEMDAX_MOVNT_THRESHOLD")) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(t, &end, 10);
    if (end != t && *end == '\0') policy_.movnt_threshold = v;
    else notes_.push_back(std::string("ignored PMEMDAX_MOVNT_THRESHOLD='") + t + "': not a whole number");
  }
  if (EnvFlag("PMEMDAX_NO_MOVNT")) policy_.movnt_threshold = SIZE_MAX;
  return true;
}

void Device::Shutdown(Napi::Env* env) {
  if (env != nullptr) {
    for (auto& ref : windows_) {
      if (!ref.IsEmpty()) {
        Napi::ArrayBuffer ab = ref.Value();
        if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
      }
    }
  }
  // The handle may wait a while for the garbage collector: it keeps its path (for errors) and no more.
  std::vector<Napi::Reference<Napi::ArrayBuffer>>().swap(windows_);
  std::vector<std::string>().swap(notes_);
  src_ = SourceInfo{};
  base_ = nullptr;
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

void Device::Fence() {
  Drain();
  ++stats_.drains;
}

int Device::Msync(uint64_t offset, uint64_t len) {
  if (len == 0) return 0;
  uint64_t start = offset & ~(kPage - 1);
  ++stats_.msyncs;
  // Page granularity: msync reports write-back failure, and that failure is the caller's to see.
  return msync(base_ + start, offset + len - start, MS_SYNC) == 0 ? 0 : errno;
}

int Device::WriteThrough(uint64_t offset, const uint8_t* src, size_t len) {
  while (len > 0) {
    ssize_t n = pwrite(mapped_->fd, src, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    src += n;
    offset += static_cast<uint64_t>(n);
    len -= static_cast<size_t>(n);
  }
  return 0;
}

int Device::FillThrough(uint64_t offset, uint8_t value, size_t len) {
  static thread_local uint8_t chunk[64 * 1024];
  std::memset(chunk, value, len < sizeof chunk ? len : sizeof chunk);
  for (size_t done = 0; done < len;) {
    size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
    if (int err = WriteThrough(offset + done, chunk, n)) return err;
    done += n;
  }
  return 0;
}

int Device::PersistRange(uint64_t offset, uint64_t len, bool drain, MappingFault* fault) {
  switch (granularity_) {
    case Granularity::kPage:
      Drain();  // non-temporal stores must be visible before the kernel writes the pages back
      return Msync(offset, len);
    case Granularity::kCacheline:
      ++stats_.flush_calls;
      if (!GuardedFlush(policy_.flush, GuardedMapping{base_, size_}, offset, len, &stats_.flushed_lines, fault)) return -1;
      break;
    case Granularity::kByte:
      break;
  }
  if (drain) Fence();
  return 0;
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
  o.Set("alignment", static_cast<double>(mapped_->map.alignment));
  o.Set("deviceAlignment", static_cast<double>(src_.kind == SourceKind::kDevdax ? src_.alignment : kPage));
  o.Set("mapSync", mapped_->map.map_sync);
  o.Set("mapSyncReason", str_or_null(mapped_->map.map_sync_reason));
  o.Set("granularity", GranularityName(granularity_));
  const char* flush = granularity_ == Granularity::kPage   ? "msync"
                      : granularity_ == Granularity::kByte ? "none"
                                                           : FlushName(flush_kind_);
  o.Set("flush", flush);
  o.Set("copyKernel", policy_.kernel->name);
  o.Set("movntThreshold", policy_.movnt_threshold == SIZE_MAX ? -1.0 : static_cast<double>(policy_.movnt_threshold));
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

// window(index) -> ArrayBuffer over [index*windowBytes, min(size, (index+1)*windowBytes)). One buffer per
// window for the device's lifetime: V8 must never see two ArrayBuffers over the same memory.
Napi::Value Device::Window(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  // V8 makes no ArrayBuffer over 4 GiB (asking aborted the process); the TypeScript layer never asks.
  if (window_bytes_ == 0 || window_bytes_ > (1ull << 32)) {
    RangeErr(env, "windowBytes must be between 1 byte and 4 GiB").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double idx = Num(info, 0);
  uint64_t count = (size_ + window_bytes_ - 1) / window_bytes_;
  if (!(idx >= 0 && idx < static_cast<double>(count))) {
    RangeErr(env, "window index out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t i = static_cast<size_t>(idx);
  if (windows_.size() < count) windows_.resize(count);
  if (!windows_[i].IsEmpty()) return windows_[i].Value();
  uint64_t start = i * window_bytes_;
  uint64_t len = size_ - start < window_bytes_ ? size_ - start : window_bytes_;
  auto* hint = new std::shared_ptr<MappedSource>(mapped_);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      env, base_ + start, len, [](Napi::Env, void*, std::shared_ptr<MappedSource>* h) { delete h; }, hint);
  windows_[i] = Napi::Persistent(ab);
  return ab;
}

// ---- Hot path ----
// Plain N-API callbacks bound to one device through their data pointer. ObjectWrap's unwrap costs more than
// a 64-byte persist, so the calls an application makes per record skip it. The TypeScript Device keeps
// these functions private, next to the native handle, so they never outlive it.

namespace {

double D(napi_env env, napi_value v) {
  double d = std::nan("");  // anything but a number fails the range checks
  napi_get_value_double(env, v, &d);
  return d;
}

// The bytes of an ArrayBufferView argument, or false after throwing the TypeError that names it.
bool ViewArg(napi_env env, napi_value v, const char* what, uint8_t** data, size_t* len) {
  if (ViewBytes(env, v, data, len)) {
    // A detached view has no memory at all: a byte of our own stands in, since even a copy of 0 bytes
    // from or to nullptr is undefined behaviour.
    static uint8_t nothing;
    if (*data == nullptr) *data = &nothing, *len = 0;
    return true;
  }
  TypeErr(Napi::Env(env), std::string(what) + " must be an ArrayBufferView").ThrowAsJavaScriptException();
  return false;
}

// The hot functions are made once per environment and take the device's handle (hot()) first; argv gets
// the arguments after it. A handle that is not one (only code reaching into the addon can pass one) throws.
Device* HotArgs(napi_env env, napi_callback_info info, napi_value* argv, size_t n) {
  napi_value all[5];
  size_t count = n + 1;
  napi_get_cb_info(env, info, &count, all, nullptr, nullptr);
  void* device = nullptr;  // napi_get_value_external refuses anything but an External
  if (napi_get_value_external(env, all[0], &device) != napi_ok || device == nullptr) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "the first argument must be a device handle from hot()");
    return nullptr;
  }
  for (size_t i = 0; i < n; ++i) argv[i] = all[i + 1];
  return static_cast<Device*>(device);
}

template <napi_callback Callback>
napi_value SafeHot(napi_env env, napi_callback_info info) {
  return CatchOutOfMemory<napi_value>(env, [&] { return Callback(env, info); });
}

}  // namespace

bool Device::HotRange(napi_env env, double offset, double length) {
  Napi::Env e(env);
  return CheckOpen(e) && CheckRange(e, offset, length);
}

napi_value Device::ThrowErrno(napi_env env, int err, const char* syscall, uint64_t offset, uint64_t len) {
  ErrnoError(Napi::Env(env), err, syscall, ErrorContext{path_, static_cast<int64_t>(offset), static_cast<int64_t>(len)})
      .ThrowAsJavaScriptException();
  return nullptr;
}

// What the flags leave to do after copy/move/fill stores.
void Device::FinishStore(napi_env env, uint64_t offset, uint64_t len, uint32_t flags) {
  if (granularity_ == Granularity::kPage) {
    if (flags & kNoFlush) return;
    Drain();  // non-temporal stores must land before the kernel writes the pages back
    int err = Msync(offset, len);
    if (err != 0) ThrowErrno(env, err, "msync", offset, len);
  } else if (!(flags & kNoDrain)) {
    Fence();
  }
}

// The page path leaves write-back to msync in FinishStore.
uint32_t Device::StoreFlags(uint32_t flags) const { return granularity_ == Granularity::kPage ? flags | kNoFlush : flags; }

napi_value Device::HotFlush(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Device* self = HotArgs(env, info, argv, 2);
  if (self == nullptr) return nullptr;
  double off = D(env, argv[0]), len = D(env, argv[1]);
  if (!self->HotRange(env, off, len)) return nullptr;
  uint64_t o = static_cast<uint64_t>(off), n = static_cast<uint64_t>(len);
  if (self->granularity_ == Granularity::kPage) {
    int err = self->Msync(o, n);
    if (err != 0) self->ThrowErrno(env, err, "msync", o, n);
  } else if (self->granularity_ == Granularity::kCacheline) {
    ++self->stats_.flush_calls;
    MappingFault fault;
    if (!GuardedFlush(self->policy_.flush, GuardedMapping{self->base_, self->size_}, o, n, &self->stats_.flushed_lines, &fault)) {
      return self->ThrowFault(env, fault, "msync", false);
    }
  }
  return nullptr;
}

napi_value Device::HotDrain(napi_env env, napi_callback_info info) {
  Device* self = HotArgs(env, info, nullptr, 0);
  if (self == nullptr) return nullptr;
  if (self->CheckOpen(Napi::Env(env))) self->Fence();
  return nullptr;
}

napi_value Device::HotPersist(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Device* self = HotArgs(env, info, argv, 2);
  if (self == nullptr) return nullptr;
  double off = D(env, argv[0]), len = D(env, argv[1]);
  if (!self->HotRange(env, off, len)) return nullptr;
  uint64_t o = static_cast<uint64_t>(off), n = static_cast<uint64_t>(len);
  MappingFault fault;
  int err = self->PersistRange(o, n, true, &fault);
  if (err < 0) return self->ThrowFault(env, fault, "msync", false);
  if (err != 0) self->ThrowErrno(env, err, "msync", o, n);
  return nullptr;
}

// persistRanges(Float64Array [offset0, length0, offset1, length1, …]): one fence for the whole batch. The
// pairs are read once, into memory of our own: a SharedArrayBuffer can change between a check and a use.
napi_value Device::HotPersistRanges(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Device* self = HotArgs(env, info, argv, 1);
  if (self == nullptr) return nullptr;
  uint8_t* bytes = nullptr;
  size_t count = 0;
  if (!ViewArg(env, argv[0], "ranges", &bytes, &count)) return nullptr;
  size_t n = count / sizeof(double) / 2;
  double small[64];
  std::vector<double> large;
  double* r = small;
  if (2 * n > sizeof small / sizeof small[0]) {
    large.resize(2 * n);
    r = large.data();
  }
  std::memcpy(r, bytes, 2 * n * sizeof(double));
  for (size_t i = 0; i < n; ++i) {
    if (!self->HotRange(env, r[2 * i], r[2 * i + 1])) return nullptr;
  }
  for (size_t i = 0; i < n; ++i) {
    uint64_t o = static_cast<uint64_t>(r[2 * i]), len = static_cast<uint64_t>(r[2 * i + 1]);
    MappingFault fault;
    int err = self->PersistRange(o, len, false, &fault);
    if (err < 0) return self->ThrowFault(env, fault, "msync", false);
    if (err != 0) {
      self->ThrowErrno(env, err, "msync", o, len);
      return nullptr;
    }
  }
  if (self->granularity_ != Granularity::kPage) self->Fence();
  return nullptr;
}

// copy(offset, src, flags)
napi_value Device::HotCopy(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Device* self = HotArgs(env, info, argv, 3);
  if (self == nullptr) return nullptr;
  uint8_t* src = nullptr;
  size_t len = 0;
  if (!ViewArg(env, argv[1], "source", &src, &len)) return nullptr;
  double off = D(env, argv[0]);
  uint32_t flags = static_cast<uint32_t>(D(env, argv[2]));
  if (!self->CheckWritable(Napi::Env(env)) || !self->HotRange(env, off, static_cast<double>(len))) return nullptr;
  uint64_t o = static_cast<uint64_t>(off);
  if (self->write_through_) {
    if (int err = self->WriteThrough(o, src, len)) return self->ThrowErrno(env, err, "pwrite", o, len);
  } else {
    MappingFault fault;
    if (!GuardedCopy(self->policy_, GuardedMapping{self->base_, self->size_}, o, src, len, self->StoreFlags(flags),
                     &self->stats_.flushed_lines, &fault)) {
      return self->ThrowStoreFault(env, fault, o, flags);
    }
  }
  self->FinishStore(env, o, len, flags);
  return nullptr;
}

// move(dst, src, length, flags)
napi_value Device::HotMove(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Device* self = HotArgs(env, info, argv, 4);
  if (self == nullptr) return nullptr;
  double dst = D(env, argv[0]), src = D(env, argv[1]), len = D(env, argv[2]);
  uint32_t flags = static_cast<uint32_t>(D(env, argv[3]));
  if (!self->CheckWritable(Napi::Env(env)) || !self->HotRange(env, dst, len) || !self->HotRange(env, src, len)) return nullptr;
  uint64_t d = static_cast<uint64_t>(dst), n = static_cast<uint64_t>(len);
  MappingFault fault;
  if (!GuardedMove(self->policy_, GuardedMapping{self->base_, self->size_}, d, static_cast<uint64_t>(src), n,
                   self->StoreFlags(flags), &self->stats_.flushed_lines, &fault)) {
    return self->ThrowStoreFault(env, fault, d, flags);
  }
  self->FinishStore(env, d, n, flags);
  return nullptr;
}

// fill(offset, value, length, flags)
napi_value Device::HotFill(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Device* self = HotArgs(env, info, argv, 4);
  if (self == nullptr) return nullptr;
  double off = D(env, argv[0]), len = D(env, argv[2]);
  uint8_t value = static_cast<uint8_t>(static_cast<uint32_t>(D(env, argv[1])));
  uint32_t flags = static_cast<uint32_t>(D(env, argv[3]));
  if (!self->CheckWritable(Napi::Env(env)) || !self->HotRange(env, off, len)) return nullptr;
  uint64_t o = static_cast<uint64_t>(off), n = static_cast<uint64_t>(len);
  if (self->write_through_) {
    if (int err = self->FillThrough(o, value, n)) return self->ThrowErrno(env, err, "pwrite", o, n);
  } else {
    MappingFault fault;
    if (!GuardedFill(self->policy_, GuardedMapping{self->base_, self->size_}, o, value, n, self->StoreFlags(flags),
                     &self->stats_.flushed_lines, &fault)) {
      return self->ThrowStoreFault(env, fault, o, flags);
    }
  }
  self->FinishStore(env, o, n, flags);
  return nullptr;
}

// copySafe(offset, target): device bytes into target; SIGBUS on poison becomes EIO with the device offset.
napi_value Device::HotCopySafe(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Device* self = HotArgs(env, info, argv, 2);
  if (self == nullptr) return nullptr;
  uint8_t* dst = nullptr;
  size_t len = 0;
  if (!ViewArg(env, argv[1], "target", &dst, &len)) return nullptr;
  double off = D(env, argv[0]);
  if (!self->HotRange(env, off, static_cast<double>(len))) return nullptr;
  size_t at = 0;
  MappingFault fault;
  if (SafeCopy(dst, self->base_ + static_cast<uint64_t>(off), len, &at, &fault.bus) != 0) {
    fault.offset = static_cast<uint64_t>(off) + at;
    return self->ThrowFault(env, fault, "read", false);
  }
  return nullptr;
}

napi_value Device::ThrowFault(napi_env env, const MappingFault& fault, const char* syscall, bool store) {
  FaultCause cause = ExplainFault(mapped_->fd, src_, size_, fault, store);
  ErrnoError(Napi::Env(env), cause.err, syscall, ErrorContext{path_, static_cast<int64_t>(fault.offset), -1}, cause.detail)
      .ThrowAsJavaScriptException();
  return nullptr;
}

napi_value Device::ThrowStoreFault(napi_env env, const MappingFault& fault, uint64_t offset, uint32_t flags) {
  if (granularity_ == Granularity::kPage) {
    // Best effort: the fault is the error to report, whatever msync says about the bytes before it.
    Drain();
    if (!(flags & kNoFlush) && fault.offset > offset) Msync(offset, fault.offset - offset);
  } else if (!(flags & kNoDrain)) {
    Fence();
  }
  return ThrowFault(env, fault, "write", true);
}

// hot() -> this device's handle for the hot functions: an External with no finalizer, so a device costs
// the garbage collector nothing native (functions made per device each left a native record that only
// the next turn of the event loop freed).
Napi::Value Device::Hot(const Napi::CallbackInfo& info) {
  napi_value handle;
  if (napi_create_external(info.Env(), this, nullptr, nullptr, &handle) != napi_ok) return info.Env().Undefined();
  return Napi::Value(info.Env(), handle);
}

// NativeDevice.hotPath -> { flush, drain, persist, persistRanges, copy, move, fill, copySafe }, made once
// per environment; each takes a handle from hot() first.
Napi::Object Device::HotPath(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  struct Entry {
    const char* name;
    napi_callback cb;
  };
  static const Entry kEntries[] = {
      {"flush", SafeHot<HotFlush>}, {"drain", SafeHot<HotDrain>}, {"persist", SafeHot<HotPersist>},
      {"persistRanges", SafeHot<HotPersistRanges>}, {"copy", SafeHot<HotCopy>}, {"move", SafeHot<HotMove>},
      {"fill", SafeHot<HotFill>}, {"copySafe", SafeHot<HotCopySafe>},
  };
  for (const Entry& e : kEntries) {
    napi_value fn;
    if (napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.cb, nullptr, &fn) != napi_ok) return o;
    o.Set(e.name, Napi::Value(env, fn));
  }
  return o;
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
  double off = Num(info, 0), len = Num(info, 1);
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
  int fd = mapped_->fd;
  // On fsdax the kernel turns a page-aligned write(2) over poison into a recovery write that clears it.
  auto write_all = [&]() -> int {
    for (uint64_t done = 0; done < n;) {
      ssize_t w = pwrite(fd, data + done, n - done, static_cast<off_t>(o + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      done += static_cast<uint64_t>(w);
    }
    return 0;
  };
  int err = write_all();
  if (err == EIO) {
    // Older kernels cannot write over poison: give the blocks back and take fresh ones instead.
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(o), static_cast<off_t>(n)) != 0 ||
        fallocate(fd, 0, static_cast<off_t>(o), static_cast<off_t>(n)) != 0) {
      ErrnoError(env, errno, "fallocate", ctx).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    err = write_all();
  }
  if (err != 0) {
    ErrnoError(env, err, "pwrite", ctx).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (fdatasync(fd) != 0) {
    ErrnoError(env, errno, "fdatasync", ctx).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<ByteRange> bad;
  err = ReadBadblocks(fd, src_, size_, &bad);
  if (err != 0) {
    ErrnoError(env, err, "badblocks", ctx).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (const ByteRange& r : bad) {
    if (r.offset < o + n && o < r.offset + r.length) {
      ErrnoError(env, EIO, "pwrite", ErrorContext{path_, static_cast<int64_t>(r.offset), static_cast<int64_t>(r.length)})
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  return env.Undefined();
}

// deepFlush(offset, length) -> 0 done, 1 not needed, 2 not permitted. The range is persisted first; the
// region's deep_flush control then drains the memory controller's write-pending queues too.
Napi::Value Device::DeepFlush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double off = Num(info, 0), len = Num(info, 1);
  if (!CheckOpen(env) || !CheckRange(env, off, len)) return env.Undefined();
  ErrorContext ctx{path_, static_cast<int64_t>(off), static_cast<int64_t>(len)};
  MappingFault fault;
  int err = PersistRange(static_cast<uint64_t>(off), static_cast<uint64_t>(len), true, &fault);
  if (err < 0) {
    ThrowFault(env, fault, "msync", false);
    return env.Undefined();
  }
  if (err != 0) {
    ErrnoError(env, err, "msync", ctx).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!src_.deep_flush) return Napi::Number::New(env, 1);
  std::string control = src_.region + "/deep_flush";
  int fd = open(control.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == EACCES || errno == EPERM || errno == EROFS) return Napi::Number::New(env, 2);
    ErrnoError(env, errno, "open", ErrorContext{control}).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ssize_t w = write(fd, "1", 1);
  int werr = errno;
  close(fd);
  if (w == 1) return Napi::Number::New(env, 0);
  if (werr == EACCES || werr == EPERM) return Napi::Number::New(env, 2);
  ErrnoError(env, werr, "write", ErrorContext{control}).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value Device::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("flushedLines", static_cast<double>(stats_.flushed_lines));
  o.Set("flushCalls", static_cast<double>(stats_.flush_calls));
  o.Set("drains", static_cast<double>(stats_.drains));
  o.Set("msyncs", static_cast<double>(stats_.msyncs));
  return o;
}

// lock(exclusive) -> false when another open file description holds a conflicting lock. flock, not fcntl:
// its locks belong to this descriptor alone, so two opens in one process exclude each other too, and the
// lock goes when the descriptor is closed (device close, or the process's end).
Napi::Value Device::Lock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  const bool exclusive = info[0].ToBoolean();
  int err = FlockRetrying(mapped_->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
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
  int err = FlockRetrying(mapped_->fd, LOCK_UN);
  lock_ = LockMode::kNone;
  if (err != 0) ErrnoError(env, err, "flock", ErrorContext{path_}).ThrowAsJavaScriptException();
  return env.Undefined();
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

Napi::Value Device::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (cleanup_hook_) napi_remove_env_cleanup_hook(env, OnEnvCleanup, this);
  cleanup_hook_ = false;
  Shutdown(&env);
  return env.Undefined();
}

}  // namespace pmemdax
