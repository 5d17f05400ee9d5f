// Device -- the JavaScript-visible handle on one mapped source: windows, persistence, copies, poison.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "file_lock.h"
#include "in_place_watch.h"
#include "job_gate.h"
#include "mapping.h"
#include "persist.h"
#include "source.h"

namespace pmemdax {

// The mapping and descriptor outlive the Device while any window ArrayBuffer still references them, so a
// view that escaped an unclosed, garbage-collected Device never points at unmapped memory.
struct MappedSource {
  Mapping map;
  int fd = -1;
  void Release();
  ~MappedSource() { Release(); }
};

// What the JavaScript constructor asked for.
struct OpenRequest {
  bool create = false;      // create the file if missing (O_CREAT | O_EXCL, else open what is there)
  uint64_t size = 0;        // size a new or empty file; grow a smaller one when grow_existing
  bool readonly = false;
  LockMode lock = LockMode::kNone;  // flock taken right after open(2), before sizing or mapping
  bool grow_existing = true;
  mode_t mode = 0666;       // permission bits of a created file (the umask applies)
  uint64_t max_size = 0;    // address space to reserve for growth, as the largest size; 0 for the default
};

// Extends fd to `size` bytes, allocated (posix_fallocate; ftruncate where the filesystem has no fallocate).
// Never shortens it. Returns 0 or an errno.
int AllocateFile(int fd, uint64_t size);

// The ArrayBuffers over one window of the device: normally one; after a grow, a window whose buffer ended at
// the old size gets a second buffer over the rest (V8 must never see two ArrayBuffers over the same memory).
struct WindowBuffers {
  uint64_t end = 0;                             // device offset where the newest buffer ends
  Napi::Reference<Napi::ArrayBuffer> newest;
  std::vector<Napi::Reference<Napi::ArrayBuffer>> older;
};

// [offset, length] pairs read from a Float64Array once, into memory of our own (a SharedArrayBuffer can change
// between a check and a use): up to 32 pairs without allocating.
struct RangePairs {
  double small[64];
  std::vector<double> large;
  double* data = small;
  size_t n = 0;
};

class Device : public Napi::ObjectWrap<Device> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Device(const Napi::CallbackInfo& info);
  ~Device() override;

  // The Device behind a value from JavaScript, or nullptr when it is not a NativeDevice: the object's type
  // tag is checked before it is unwrapped, since another wrapped object would be read as a Device.
  static Device* FromValue(napi_env env, napi_value value);

  // For regions that map parts of this device again (region.cpp).
  bool IsOpen() const { return base_ != nullptr; }
  int Fd() const { return mapped_ ? mapped_->fd : -1; }
  bool MapSync() const { return mapped_ && mapped_->map.map_sync; }
  bool Writable() const { return writable_; }
  uint64_t Size() const { return size_; }
  uint64_t Alignment() const { return src_.alignment; }
  const std::string& Path() const { return path_; }

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Window(const Napi::CallbackInfo& info);
  Napi::Value Hot(const Napi::CallbackInfo& info);
  Napi::Value Badblocks(const Napi::CallbackInfo& info);
  Napi::Value ClearBadblocks(const Napi::CallbackInfo& info);
  Napi::Value DeepFlush(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Lock(const Napi::CallbackInfo& info);
  Napi::Value Unlock(const Napi::CallbackInfo& info);
  Napi::Value RangeLock(const Napi::CallbackInfo& info);
  Napi::Value RangeConflict(const Napi::CallbackInfo& info);
  Napi::Value WatchInPlace(const Napi::CallbackInfo& info);
  Napi::Value UnwatchInPlace(const Napi::CallbackInfo& info);
  // Stops the watch's thread (joined) and lets its slots go.
  void EndInPlaceWatch();
  Napi::Value UnlinkCreated(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value PersistAsync(const Napi::CallbackInfo& info);
  Napi::Value WriteAsync(const Napi::CallbackInfo& info);
  Napi::Value WaitJobs(const Napi::CallbackInfo& info);
  Napi::Value Grow(const Napi::CallbackInfo& info);
  // Every method is registered through Safe: an allocation failure becomes a JavaScript ENOMEM.
  template <Napi::Value (Device::*Method)(const Napi::CallbackInfo&)>
  Napi::Value Safe(const Napi::CallbackInfo& info);
  static Napi::Object HotPath(Napi::Env env);

  // Hot path, bound to this device by Hot(): see hot_path.cpp.
  static napi_value HotFlush(napi_env env, napi_callback_info info);
  static napi_value HotDrain(napi_env env, napi_callback_info info);
  static napi_value HotPersist(napi_env env, napi_callback_info info);
  static napi_value HotPersistRanges(napi_env env, napi_callback_info info);
  static napi_value HotCopy(napi_env env, napi_callback_info info);
  static napi_value HotMove(napi_env env, napi_callback_info info);
  static napi_value HotFill(napi_env env, napi_callback_info info);
  static napi_value HotCopySafe(napi_env env, napi_callback_info info);
  static napi_value HotTreeSearch(napi_env env, napi_callback_info info);
  static napi_value HotTreeScan(napi_env env, napi_callback_info info);
  static napi_value HotTreeCheck(napi_env env, napi_callback_info info);
  static napi_value HotWriteBack(napi_env env, napi_callback_info info, bool drain);
  bool HotRange(napi_env env, double offset, double length);
  // Copies and range-checks the pairs of a Float64Array; false when it threw.
  bool ReadRanges(napi_env env, napi_value arg, RangePairs* out);
  // Flushes every range, then drains once; false when it threw.
  bool PersistRanges(napi_env env, const RangePairs& ranges);
  // Throws an fs-style error for a failed system call on [offset, offset+len); returns nullptr.
  napi_value ThrowErrno(napi_env env, int err, const char* syscall, uint64_t offset, uint64_t len);
  // Throws for a write-back's result (0 throws nothing): -1 a fault, else an errno from msync. False when thrown.
  bool CheckFlushed(napi_env env, int err, const MappingFault& fault, uint64_t offset, uint64_t len);
  // Throws for a store's result (0 throws nothing), then what the flags leave to do. Returns nullptr.
  napi_value FinishStore(napi_env env, int err, const MappingFault& fault, uint64_t offset, uint64_t len, uint32_t flags);

  // A persistAsync job has run its write-back (msync per range, or one fdatasync): 0, or the first failure.
  friend class MsyncJob;
  // Queues a persistAsync/writeAsync job: `payload` (if any) is written over the pairs in order first, then (with
  // write_back) the pairs are written back; returns its promise, or null when no promise could be made.
  Napi::Value QueueJob(Napi::Env env, std::vector<double> pairs, std::vector<uint8_t> payload, bool write_back = true);
  void FinishAsync(Napi::Env env, napi_deferred done, uint64_t msyncs, int err, const char* syscall, uint64_t offset,
                   uint64_t len);

  bool Open(Napi::Env env, const std::string& path, const OpenRequest& req);
  void Shutdown(Napi::Env* env);
  static void OnEnvCleanup(void* arg);

  // Guards shared by the methods: each throws and returns false when the call must not proceed.
  bool CheckOpen(Napi::Env env);
  bool CheckWritable(Napi::Env env);
  bool CheckRange(Napi::Env env, double offset, double length);

  // An access through the mapping met a SIGBUS: throws why (ExplainFault) with the failing page's offset.
  napi_value ThrowFault(napi_env env, const MappingFault& fault, const char* syscall, bool store);

  std::shared_ptr<MappedSource> mapped_;
  uint8_t* base_ = nullptr;  // nullptr once closed
  uint64_t size_ = 0;
  bool writable_ = false;
  bool created_ = false;  // this open created the file (and has not removed it)
  LockMode lock_ = LockMode::kNone;  // the flock this open holds, as far as it knows
  bool cleanup_hook_ = false;
  napi_env env_ = nullptr;
  std::string path_;
  SourceInfo src_;
  Persistence persist_;
  std::vector<std::string> notes_;
  uint64_t window_bytes_ = 1ull << 30;
  std::vector<WindowBuffers> windows_;
  // A pool writer's watch over its in-place lock (in_place_watch.h), and the slots it shares with JavaScript.
  std::unique_ptr<InPlaceWatch> in_place_watch_;
  Napi::Reference<Napi::Int32Array> in_place_slots_;
  JobGate jobs_;  // persistAsync and writeAsync jobs on the I/O threads: the mapping and fd stay until they are done
  // Payload buffers of finished writeAsync jobs, kept for the next ones (JavaScript thread only): a buffer
  // allocated per job would go to mmap and munmap at every large one, and those take the process's mmap
  // lock against every page fault.
  std::vector<std::vector<uint8_t>> spare_payloads_;
  std::vector<uint8_t> TakePayload(const uint8_t* data, size_t len);
  void GiveBackPayload(std::vector<uint8_t> payload);
};

}  // namespace pmemdax
