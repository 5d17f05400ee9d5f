// Region -- a reserved range of address space into which the fault layer inserts device pages, zero pages
// and private anonymous pages, with write traps that stand in for the kernel's page_mkwrite.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "write_trap.h"

namespace pmemdax {

// The reservation outlives the Region while its ArrayBuffer is alive (see MappedSource in device.h).
struct Reservation {
  uint8_t* base = nullptr;
  size_t length = 0;
  void Release();
  ~Reservation() { Release(); }
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

  bool CheckPages(Napi::Env env, double offset, double length);
  void SetTraps(size_t first_page, size_t pages, TrapState state);
  void Teardown(Napi::Env* env);

  std::shared_ptr<Reservation> mem_;
  TrapTable traps_;
  std::unique_ptr<std::atomic<uint8_t>[]> trap_state_;
  std::unique_ptr<uint32_t[]> trap_log_;
  bool registered_ = false;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  uint64_t inserts_ = 0;
};

}  // namespace pmemdax
