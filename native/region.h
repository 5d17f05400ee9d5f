// Region -- a reserved range of address space into which the fault layer inserts device pages, zero pages
// and private anonymous pages, with write traps that stand in for the kernel's page_mkwrite.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "units.h"
#include "write_trap.h"

namespace pmemdax {

// The reservation outlives the Region while its ArrayBuffer is alive (see MappedSource in device.h).
struct Reservation {
  uint8_t* base = nullptr;
  size_t length = 0;
  void Release();
  ~Reservation() { Release(); }
};

// The largest region: one ArrayBuffer covers it.
constexpr uint64_t kMaxRegionBytes = kMaxArrayBufferBytes;

// How mapDevice and protect leave a range: inaccessible, read-only, read-write, read-only until a first
// store that is logged and then allowed (shared), or the same over a private copy-on-write mapping.
// Exported to JavaScript by constants.cpp.
enum RegionAccess {
  kAccessNone = 0,
  kAccessRead = 1,
  kAccessReadWrite = 2,
  kAccessTrapWrite = 3,
  kAccessPrivateTrap = 4,
};

class Region : public Napi::ObjectWrap<Region> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Region(const Napi::CallbackInfo& info);
  ~Region() override;

 private:
  Napi::Value Buffer(const Napi::CallbackInfo& info);
  Napi::Value MapDevice(const Napi::CallbackInfo& info);
  Napi::Value MapZero(const Napi::CallbackInfo& info);
  Napi::Value MapAnon(const Napi::CallbackInfo& info);
  Napi::Value Protect(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Harvest(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Unmap(const Napi::CallbackInfo& info);

  // Every method is registered through Safe: an allocation failure becomes a JavaScript ENOMEM.
  template <Napi::Value (Region::*Method)(const Napi::CallbackInfo&)>
  Napi::Value Safe(const Napi::CallbackInfo& info);
  void Construct(const Napi::CallbackInfo& info);

  bool CheckPages(Napi::Env env, double offset, double length);
  // Makes the trap state of the pages exist (before anything is armed there); false when memory ran out.
  bool EnsureTraps(size_t first_page, size_t pages);
  void SetTraps(size_t first_page, size_t pages, TrapState state);
  void FreeTraps();
  void Teardown(Napi::Env* env);

  std::shared_ptr<Reservation> mem_;
  TrapTable traps_;
  std::unique_ptr<std::atomic<TrapChunk*>[]> trap_chunks_;
  size_t chunk_count_ = 0;
  bool registered_ = false;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  uint64_t inserts_ = 0;
};

}  // namespace pmemdax
