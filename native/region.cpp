#include "region.h"

#include <sys/mman.h>

#include <cerrno>
#include <algorithm>
#include <cmath>
#include <new>
#include <string>
#include <vector>

#include "args.h"
#include "device.h"
#include "errors.h"
#include "mapping.h"
#include "oom.h"
#include "units.h"

namespace pmemdax {

namespace {


int ProtOf(int access) {
  switch (access) {
    case kAccessRead:
    case kAccessTrapWrite: return PROT_READ;
    case kAccessReadWrite: return PROT_READ | PROT_WRITE;
    default: return PROT_NONE;
  }
}

}  // namespace

void Reservation::Release() {
  if (base != nullptr) munmap(base, length);
  base = nullptr;
}

Napi::Function Region::Init(Napi::Env env) {
  return DefineClass(env, "NativeRegion",
                     {
                         InstanceMethod("buffer", &Region::Safe<&Region::Buffer>),
                         InstanceMethod("mapDevice", &Region::Safe<&Region::MapDevice>),
                         InstanceMethod("mapZero", &Region::Safe<&Region::MapZero>),
                         InstanceMethod("mapAnon", &Region::Safe<&Region::MapAnon>),
                         InstanceMethod("protect", &Region::Safe<&Region::Protect>),
                         InstanceMethod("release", &Region::Safe<&Region::Release>),
                         InstanceMethod("harvest", &Region::Safe<&Region::Harvest>),
                         InstanceMethod("stats", &Region::Safe<&Region::Stats>),
                         InstanceMethod("unmap", &Region::Safe<&Region::Unmap>),
                     });
}

// new NativeRegion(length, alignment, trapGranule): reserves `length` bytes (a page multiple) of PROT_NONE
// address space at an `alignment`-aligned address, so 2 MiB device extents can sit at 2 MiB-aligned places.
// A write trap opens `trapGranule` bytes around the faulting page (4 KiB, or the device-dax alignment).
Region::Region(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Region>(info) {
  CatchOutOfMemory<bool>(info.Env(), [&] {
    Construct(info);
    return true;
  });
  // A constructor that threw leaves nothing reserved: the object is unreachable and may be finalized late.
  bool pending = false;
  napi_is_exception_pending(info.Env(), &pending);
  if (pending) Teardown(nullptr);
}

template <Napi::Value (Region::*Method)(const Napi::CallbackInfo&)>
Napi::Value Region::Safe(const Napi::CallbackInfo& info) {
  return CatchOutOfMemory<Napi::Value>(info.Env(), [&] { return (this->*Method)(info); });
}

void Region::Construct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double len = NumberArg(env, info[0]), align = NumberArg(env, info[1]), granule = info.Length() > 2 ? NumberArg(env, info[2]) : kPageSize;
  if (!(len > 0 && std::fmod(len, kPageSize) == 0 && align >= kPageSize && std::fmod(align, kPageSize) == 0)) {
    RangeErr(env, "a region is a positive number of pages at a page-multiple alignment").ThrowAsJavaScriptException();
    return;
  }
  if (len > static_cast<double>(kMaxRegionBytes) || align > static_cast<double>(kMaxRegionBytes)) {
    RangeErr(env, "a region is at most 4 GiB (4294967296 bytes) at an alignment of at most 4 GiB").ThrowAsJavaScriptException();
    return;
  }
  size_t granule_pages = granule >= kPageSize ? static_cast<size_t>(granule / kPageSize) : 0;
  if (granule_pages == 0 || (granule_pages & (granule_pages - 1)) != 0 || std::fmod(len, granule) != 0) {
    RangeErr(env, "the trap granule is a power-of-two number of pages dividing the region").ThrowAsJavaScriptException();
    return;
  }
  size_t length = static_cast<size_t>(len), alignment = static_cast<size_t>(align);
  mem_ = std::make_shared<Reservation>();
  void* start = ReserveAligned(length, alignment);
  if (start == nullptr) {
    mem_.reset();
    ErrnoError(env, errno, "mmap").ThrowAsJavaScriptException();
    return;
  }
  mem_->base = static_cast<uint8_t*>(start);
  mem_->length = length;

  size_t pages = length / kPageSize;
  chunk_count_ = (pages + kTrapChunkPages - 1) / kTrapChunkPages;
  trap_chunks_.reset(new std::atomic<TrapChunk*>[chunk_count_]);
  for (size_t i = 0; i < chunk_count_; ++i) trap_chunks_[i].store(nullptr, std::memory_order_relaxed);
  traps_.base = reinterpret_cast<uintptr_t>(start);
  traps_.pages = pages;
  traps_.granule_pages = granule_pages;
  traps_.chunks = trap_chunks_.get();
  if (!RegisterTraps(&traps_)) {
    mem_.reset();
    PmemdaxError(env, "ERR_PMEMDAX_TOO_MANY_REGIONS", "too many regions are mapped at once (4096)").ThrowAsJavaScriptException();
    return;
  }
  registered_ = true;
}

Region::~Region() { Teardown(nullptr); }

void Region::Teardown(Napi::Env* env) {
  if (registered_) UnregisterTraps(&traps_);
  registered_ = false;
  if (env != nullptr && !buffer_.IsEmpty()) {
    Napi::ArrayBuffer ab = buffer_.Value();
    if (!ab.IsEmpty() && !ab.IsDetached()) ab.Detach();
  }
  buffer_.Reset();
  if (mem_) mem_->Release();
  mem_.reset();
  FreeTraps();
}

void Region::FreeTraps() {
  for (size_t i = 0; i < chunk_count_; ++i) delete trap_chunks_[i].exchange(nullptr, std::memory_order_acq_rel);
  trap_chunks_.reset();
  chunk_count_ = 0;
  traps_.chunks = nullptr;
}

bool Region::EnsureTraps(size_t first_page, size_t pages) {
  if (pages == 0) return true;
  for (size_t c = first_page / kTrapChunkPages; c <= (first_page + pages - 1) / kTrapChunkPages; ++c) {
    if (trap_chunks_[c].load(std::memory_order_relaxed) != nullptr) continue;
    auto* chunk = new (std::nothrow) TrapChunk();
    if (chunk == nullptr) return false;
    trap_chunks_[c].store(chunk, std::memory_order_release);
  }
  return true;
}

bool Region::CheckPages(Napi::Env env, double offset, double length) {
  if (!mem_) {
    PmemdaxError(env, "ERR_PMEMDAX_CLOSED", "the region is unmapped").ThrowAsJavaScriptException();
    return false;
  }
  if (offset >= 0 && length > 0 && std::fmod(offset, kPageSize) == 0 && std::fmod(length, kPageSize) == 0 &&
      offset + length <= static_cast<double>(mem_->length)) {
    return true;
  }
  RangeErr(env, "region range [" + std::to_string(static_cast<int64_t>(offset)) + ", +" +
                    std::to_string(static_cast<int64_t>(length)) + ") is not whole pages inside the region")
      .ThrowAsJavaScriptException();
  return false;
}

// Pages without trap state are off already; arming goes through EnsureTraps first.
void Region::SetTraps(size_t first_page, size_t pages, TrapState state) {
  for (size_t i = first_page; i < first_page + pages; ++i) {
    TrapChunk* c = trap_chunks_[i / kTrapChunkPages].load(std::memory_order_relaxed);
    if (c != nullptr) c->state[i % kTrapChunkPages].store(state, std::memory_order_release);
  }
}

// buffer() -> the one ArrayBuffer over the whole region.
Napi::Value Region::Buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!mem_) return CheckPages(env, 0, 0), env.Undefined();
  if (!buffer_.IsEmpty()) return buffer_.Value();
  auto* hint = new std::shared_ptr<Reservation>(mem_);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      env, mem_->base, mem_->length, [](Napi::Env, void*, std::shared_ptr<Reservation>* h) { delete h; }, hint);
  buffer_ = Napi::Persistent(ab);
  return ab;
}

// mapDevice(offset, device, deviceOffset, length, access): the device's bytes appear at `offset`, shared
// with the device (MAP_SYNC too when the device has it). access: read, read-write, trap-write, or private
// trap-write: a private mapping whose first store is logged and then copied on write by the kernel, so it
// never reaches the device.
Napi::Value Region::MapDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double off = NumberArg(env, info[0]), dev_off = NumberArg(env, info[2]), len = NumberArg(env, info[3]);
  int access = static_cast<int>(NumberArg(env, info[4]));
  if (!CheckPages(env, off, len)) return env.Undefined();
  Device* dev = Device::FromValue(env, info[1]);
  if (dev == nullptr) {
    TypeErr(env, "device must be a NativeDevice").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!dev->IsOpen()) {
    PmemdaxError(env, "ERR_PMEMDAX_CLOSED", "the device is closed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!(dev_off >= 0 && std::fmod(dev_off, kPageSize) == 0 && dev_off + len <= static_cast<double>(dev->Size()))) {
    RangeErr(env, "device range is not whole pages inside the device").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (access == kAccessReadWrite || access == kAccessTrapWrite) {
    if (!dev->Writable()) {
      PmemdaxError(env, "ERR_PMEMDAX_READONLY", "the device was opened read-only", ErrorContext{dev->Path()})
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  // Trap pages start read-only: a shared mapping of a descriptor open for writing keeps VM_MAYWRITE, so the
  // trap handler's later mprotect to read-write works, and one system call maps them. Pages that may ever
  // become writable get MAP_SYNC where the device has it.
  int prot = access == kAccessReadWrite ? PROT_READ | PROT_WRITE : PROT_READ;
  int flags = MAP_FIXED;
  if (access == kAccessPrivateTrap) {
    flags |= MAP_PRIVATE;
  } else {
    flags |= (dev->MapSync() && access != kAccessRead) ? MAP_SHARED_VALIDATE | MAP_SYNC : MAP_SHARED;
  }
  uint8_t* at = mem_->base + static_cast<uint64_t>(off);
  size_t n = static_cast<size_t>(len);
  const bool trapped = access == kAccessTrapWrite || access == kAccessPrivateTrap;
  if (trapped && !EnsureTraps(static_cast<size_t>(off) / kPageSize, n / kPageSize)) {
    ThrowOutOfMemory(env);
    return env.Undefined();
  }
  if (mmap(at, n, prot, flags, dev->Fd(), static_cast<off_t>(dev_off)) == MAP_FAILED) {
    int err = errno;
    // The reservation must not be left with a hole in it.
    mmap(at, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    ErrnoError(env, err, "mmap", ErrorContext{dev->Path(), static_cast<int64_t>(dev_off), static_cast<int64_t>(len)})
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t first = static_cast<size_t>(off) / kPageSize, pages = n / kPageSize;
  SetTraps(first, pages, trapped ? kTrapArmed : kTrapOff);
  ++inserts_;
  return env.Undefined();
}

// mapZero(offset, length): read-only zero pages (the kernel's shared zero page backs them).
Napi::Value Region::MapZero(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double off = NumberArg(env, info[0]), len = NumberArg(env, info[1]);
  if (!CheckPages(env, off, len)) return env.Undefined();
  uint8_t* at = mem_->base + static_cast<uint64_t>(off);
  if (mmap(at, static_cast<size_t>(len), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
    ErrnoError(env, errno, "mmap").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  SetTraps(static_cast<size_t>(off) / kPageSize, static_cast<size_t>(len) / kPageSize, kTrapOff);
  ++inserts_;
  return env.Undefined();
}

// mapAnon(offset, length): private read-write anonymous pages, zero-filled (copy-on-write targets).
Napi::Value Region::MapAnon(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double off = NumberArg(env, info[0]), len = NumberArg(env, info[1]);
  if (!CheckPages(env, off, len)) return env.Undefined();
  uint8_t* at = mem_->base + static_cast<uint64_t>(off);
  if (mmap(at, static_cast<size_t>(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
    ErrnoError(env, errno, "mmap").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  SetTraps(static_cast<size_t>(off) / kPageSize, static_cast<size_t>(len) / kPageSize, kTrapOff);
  ++inserts_;
  return env.Undefined();
}

// protect(offset, length, access): none, read, read-write, or trap-write (read-only until the first store,
// which is logged for harvest() and then allowed).
Napi::Value Region::Protect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double off = NumberArg(env, info[0]), len = NumberArg(env, info[1]);
  int access = static_cast<int>(NumberArg(env, info[2]));
  if (!CheckPages(env, off, len)) return env.Undefined();
  size_t first = static_cast<size_t>(off) / kPageSize, pages = static_cast<size_t>(len) / kPageSize;
  if (access == kAccessTrapWrite && !EnsureTraps(first, pages)) {
    ThrowOutOfMemory(env);
    return env.Undefined();
  }
  // Arm before write-protecting would let a racing store slip through unlogged; disarm after opening up.
  if (access != kAccessTrapWrite) SetTraps(first, pages, kTrapOff);
  if (mprotect(mem_->base + static_cast<uint64_t>(off), static_cast<size_t>(len), ProtOf(access)) != 0) {
    ErrnoError(env, errno, "mprotect").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (access == kAccessTrapWrite) SetTraps(first, pages, kTrapArmed);
  return env.Undefined();
}

// release(offset, length): back to reserved, inaccessible address space.
Napi::Value Region::Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double off = NumberArg(env, info[0]), len = NumberArg(env, info[1]);
  if (!CheckPages(env, off, len)) return env.Undefined();
  SetTraps(static_cast<size_t>(off) / kPageSize, static_cast<size_t>(len) / kPageSize, kTrapOff);
  if (mmap(mem_->base + static_cast<uint64_t>(off), static_cast<size_t>(len), PROT_NONE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
    ErrnoError(env, errno, "mmap").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// harvest() -> Float64Array of region page indices written through trap pages since the last harvest.
Napi::Value Region::Harvest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // (sequence, region page) of every logged store; sorting by sequence restores trap order across chunks.
  std::vector<std::pair<uint64_t, uint32_t>> logged;
  for (size_t c = 0; c < chunk_count_; ++c) {
    TrapChunk* chunk = trap_chunks_[c].load(std::memory_order_acquire);
    if (chunk == nullptr) continue;
    uint32_t n = std::min<uint32_t>(chunk->log_count.exchange(0, std::memory_order_acq_rel), kTrapChunkPages);
    for (uint32_t i = 0; i < n; ++i) {
      logged.emplace_back(chunk->log[i] >> 16, static_cast<uint32_t>(c * kTrapChunkPages + (chunk->log[i] & 0xffff)));
    }
  }
  std::sort(logged.begin(), logged.end());
  Napi::Float64Array out = Napi::Float64Array::New(env, logged.size());
  for (size_t i = 0; i < logged.size(); ++i) out[i] = logged[i].second;
  return out;
}

Napi::Value Region::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("writeTraps", static_cast<double>(traps_.traps.load(std::memory_order_relaxed)));
  o.Set("inserts", static_cast<double>(inserts_));
  return o;
}

Napi::Value Region::Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Teardown(&env);
  return env.Undefined();
}

}  // namespace pmemdax
