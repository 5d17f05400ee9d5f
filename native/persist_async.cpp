// persistAsync: at page granularity the msync calls of a batch of ranges run on an I/O thread (io_pool.h), so a
// write-back that waits for a disk never blocks the JavaScript thread. At byte and cacheline granularity the
// flushes take microseconds, less than the thread hop: they run inline, as persistRanges.
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <utility>
#include <vector>

#include "device.h"
#include "errors.h"
#include "args.h"
#include "flush.h"
#include "io_pool.h"
#include "recovery_write.h"

namespace pmemdax {

// Touches no JavaScript object and no device state off the JavaScript thread: Run sees only the
// mapping's address and its own copy of the ranges; counts are made in Done.
class MsyncJob : public IoJob {
 public:
  MsyncJob(Device* device, uint8_t* base, int fd, std::vector<double> pairs, std::vector<uint8_t> payload, bool write_back)
      : device_(device),
        self_(Napi::Persistent(device->Value())),  // the device's object lives until the promise settles
        base_(base),
        fd_(fd),
        pairs_(std::move(pairs)),
        payload_(std::move(payload)),
        write_back_(write_back) {}

  // Settled in Done, or by the queueing call when queueing fails.
  napi_deferred done = nullptr;

  void Run() override {
    // writeAsync: the bytes go in first, laid out over the ranges in order (a pwrite into the page cache can
    // wait on the filesystem's journal, or read a page in), then the ranges are written back like any others.
    size_t from = 0;
    for (size_t i = 0; i + 1 < pairs_.size() && from < payload_.size(); i += 2) {
      offset_ = static_cast<uint64_t>(pairs_[i]);
      len_ = static_cast<uint64_t>(pairs_[i + 1]);
      err_ = PwriteAll(fd_, payload_.data() + from, len_, offset_);
      if (err_ != 0) {
        syscall_ = "pwrite";
        device_->jobs_.Leave();
        return;
      }
      from += len_;
    }
    if (!write_back_) {
      device_->jobs_.Leave();
      return;
    }
    // Several ranges of a file: one fdatasync writes back all of them with one device flush, where an msync
    // per range would flush the device once each (ext4, xfs); it also writes back the file's other dirty
    // pages, which only makes more durable.
    if (fd_ >= 0 && pairs_.size() > 2) {
      ++msyncs_;
      syscall_ = "fdatasync";
      offset_ = 0;
      len_ = 0;
      err_ = fdatasync(fd_) == 0 ? 0 : errno;
      device_->jobs_.Leave();
      return;
    }
    for (size_t i = 0; i + 1 < pairs_.size(); i += 2) {
      offset_ = static_cast<uint64_t>(pairs_[i]);
      len_ = static_cast<uint64_t>(pairs_[i + 1]);
      if (len_ == 0) continue;
      ++msyncs_;
      err_ = MsyncPages(base_, offset_, len_);
      if (err_ != 0) break;
    }
    device_->jobs_.Leave();  // the last use of the mapping: close may unmap from here on
  }

  void Done(Napi::Env env) override {
    device_->GiveBackPayload(std::move(payload_));
    device_->FinishAsync(env, done, msyncs_, err_, syscall_, offset_, len_);
  }

  // The environment is gone, and with it the reference's owner.
  void Abandon() override { self_.SuppressDestruct(); }

 private:
  Device* device_;
  Napi::ObjectReference self_;
  uint8_t* base_;
  int fd_;
  std::vector<double> pairs_;
  std::vector<uint8_t> payload_;
  bool write_back_;
  const char* syscall_ = "msync";
  uint64_t msyncs_ = 0;
  int err_ = 0;
  uint64_t offset_ = 0, len_ = 0;
};

// persistAsync(Float64Array [offset0, length0, …]) -> a Promise at page granularity, undefined when the
// work was done inline (no range, or byte/cacheline granularity). Throws what persistRanges throws.
Napi::Value Device::PersistAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  RangePairs ranges;
  if (!ReadRanges(env, info[0], &ranges)) return env.Undefined();
  if (!persist_.PagesByMsync()) {
    PersistRanges(env, ranges);
    return env.Undefined();
  }
  if (ranges.n == 0) return env.Undefined();
  return QueueJob(env, std::vector<double>(ranges.data, ranges.data + 2 * ranges.n), {});
}

Napi::Value Device::QueueJob(Napi::Env env, std::vector<double> pairs, std::vector<uint8_t> payload, bool write_back) {
  // On this thread: the fence orders this thread's non-temporal stores, which a pool thread's would not.
  Drain();
  std::unique_ptr<MsyncJob> job(new MsyncJob(this, base_, Fd(), std::move(pairs), std::move(payload), write_back));
  // The promise is checked: once the environment is stopping, N-API refuses it without throwing anything
  // (napi_pending_exception with none pending). worker.terminate() marks the worker's environment so from the
  // parent's thread while the worker can still be running JavaScript, until the termination reaches it. Then
  // nothing is queued, and null says so. (Napi::Promise::Deferred leaves its promise uninitialised in that case,
  // and returning it crashed the worker.)
  napi_value promise;
  if (napi_create_promise(env, &job->done, &promise) != napi_ok) return env.Null();
  jobs_.Enter();
  const IoQueued queued = QueueIoJob(env, job.get());
  if (queued.err != 0) {
    jobs_.Leave();
    napi_reject_deferred(env, job->done, ErrnoError(env, queued.err, queued.syscall, ErrorContext{path_}).Value());
    return Napi::Value(env, promise);
  }
  job.release();  // the pool's now
  ++persist_.MutableStats().async_persists;
  return Napi::Value(env, promise);
}

// writeAsync(Float64Array [offset0, length0, …], Uint8Array, writeBack) -> a Promise at page granularity on a
// file: the bytes are copied here, then written in order over the leading ranges they fill (pwrite) and, with
// writeBack, every range is written back (msync, or one fdatasync for several ranges) on an I/O thread.
// Undefined when done inline: byte and cacheline granularity, where each copy is a durable store. The JavaScript
// side checks the ranges and sizes.
Napi::Value Device::WriteAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return env.Undefined();
  RangePairs ranges;
  if (!ReadRanges(env, info[0], &ranges)) return env.Undefined();
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!ViewBytes(env, info[1], &data, &len)) {
    TypeErr(env, "writeAsync(ranges, bytes)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const bool write_back = !info[2].IsBoolean() || info[2].As<Napi::Boolean>().Value();
  // The bytes fill the leading ranges exactly; the ranges after them are only written back.
  uint64_t total = 0;
  size_t filled = 0;
  while (filled < ranges.n && total < len) total += static_cast<uint64_t>(ranges.data[2 * filled++ + 1]);
  if (total != len) {
    RangeErr(env, "writeAsync: the bytes must fill the leading ranges exactly").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!persist_.PagesByMsync() || Fd() < 0) {
    size_t from = 0;
    for (size_t i = 0; i < filled; ++i) {
      const uint64_t o = static_cast<uint64_t>(ranges.data[2 * i]), n = static_cast<uint64_t>(ranges.data[2 * i + 1]);
      MappingFault fault;
      FinishStore(env, persist_.Copy(o, data + from, n, 0, &fault), fault, o, n, 0);
      if (env.IsExceptionPending()) return env.Undefined();
      from += n;
    }
    RangePairs rest;
    rest.n = ranges.n - filled;
    rest.data = ranges.data + 2 * filled;
    if (write_back && rest.n > 0) PersistRanges(env, rest);
    return env.Undefined();
  }
  // No bytes: the job only writes the ranges back (none to write back: nothing to do).
  if (len == 0 && (ranges.n == 0 || !write_back)) return env.Undefined();
  return QueueJob(env, std::vector<double>(ranges.data, ranges.data + 2 * ranges.n), TakePayload(data, len), write_back);
}

std::vector<uint8_t> Device::TakePayload(const uint8_t* data, size_t len) {
  std::vector<uint8_t> buf;
  if (!spare_payloads_.empty()) {
    buf = std::move(spare_payloads_.back());
    spare_payloads_.pop_back();
  }
  buf.assign(data, data + len);
  return buf;
}

void Device::GiveBackPayload(std::vector<uint8_t> payload) {
  constexpr size_t kSpares = 4;
  constexpr size_t kLargest = 16u << 20;
  if (payload.capacity() == 0 || payload.capacity() > kLargest || spare_payloads_.size() >= kSpares) return;
  payload.clear();
  spare_payloads_.push_back(std::move(payload));
}

// waitJobs() -- blocks until no persistAsync or writeAsync job of the device is in flight (their promises
// settle later, as usual): for a synchronous caller that must not race a job's write.
Napi::Value Device::WaitJobs(const Napi::CallbackInfo& info) {
  jobs_.WaitIdle();
  return info.Env().Undefined();
}

void Device::FinishAsync(Napi::Env env, napi_deferred done, uint64_t msyncs, int err, const char* syscall, uint64_t offset,
                         uint64_t len) {
  persist_.MutableStats().msyncs += msyncs;
  if (err == 0) {
    napi_resolve_deferred(env, done, env.Undefined());
    return;
  }
  ErrorContext where{path_};
  if (len > 0) where = ErrorContext{path_, static_cast<int64_t>(offset), static_cast<int64_t>(len)};
  napi_reject_deferred(env, done, ErrnoError(env, err, syscall, where).Value());
}

}  // namespace pmemdax
