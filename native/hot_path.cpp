// The hot path: plain N-API callbacks over a device's persistence table (persist.h). ObjectWrap's unwrap
// costs more than a 64-byte persist, so the calls an application makes per record skip it. The TypeScript
// Device keeps these functions private, next to the native handle, so they never outlive it; the tree reads
// (treeSearch, treeScan, treeCheck) go to the pool's page store together with the Device they read (treeReaderOf).
#include <cstring>
#include <vector>

#include "args.h"
#include "device.h"
#include "errors.h"
#include "name_strings.h"
#include "oom.h"
#include "sigbus.h"
#include "tree_search.h"

namespace pmemdax {

namespace {

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
// No hot function takes more than 8 (treeScan).
Device* HotArgs(napi_env env, napi_callback_info info, napi_value* argv, size_t n) {
  napi_value all[9];
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

// Runs `walk` over the device's mapping with a SIGBUS there recovered: false when one cut it short.
template <typename Walk>
bool OnMapping(const uint8_t* base, uint64_t size, Walk& walk) {
  BusFault fault;
  auto lo = reinterpret_cast<uintptr_t>(base);
  return Guarded(lo, lo + size, walk, &fault);
}

// A tree walk's answer for JavaScript: `result` (kTreeCannotSay when a SIGBUS cut the walk short), with the
// count of pages it visited, then their blocks, written to `visited`.
napi_value TreeWalkAnswer(napi_env env, bool walked, int result, const uint32_t* blocks, size_t pages, uint8_t* visited) {
  uint32_t count = static_cast<uint32_t>(pages);
  std::memcpy(visited, &count, 4);
  std::memcpy(visited + 4, blocks, 4 * pages);
  napi_value out;
  napi_create_int32(env, walked ? result : kTreeCannotSay, &out);
  return out;
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

bool Device::CheckFlushed(napi_env env, int err, const MappingFault& fault, uint64_t offset, uint64_t len) {
  if (err == 0) return true;
  if (err < 0) ThrowFault(env, fault, "msync", false);
  else ThrowErrno(env, err, "msync", offset, len);
  return false;
}

napi_value Device::FinishStore(napi_env env, int err, const MappingFault& fault, uint64_t offset, uint64_t len,
                               uint32_t flags) {
  if (err > 0) return ThrowErrno(env, err, "pwrite", offset, len);
  if (err < 0) {
    persist_.FinishFaultedStore(offset, fault.offset, flags);
    return ThrowFault(env, fault, "write", true);
  }
  err = persist_.FinishStore(offset, len, flags);
  if (err != 0) ThrowErrno(env, err, "msync", offset, len);
  return nullptr;
}

// flush(offset, length) and persist(offset, length): write-back alone, or write-back and drain.
napi_value Device::HotWriteBack(napi_env env, napi_callback_info info, bool drain) {
  napi_value argv[2];
  Device* self = HotArgs(env, info, argv, 2);
  if (self == nullptr) return nullptr;
  double off = NumberArg(env, argv[0]), len = NumberArg(env, argv[1]);
  if (!self->HotRange(env, off, len)) return nullptr;
  uint64_t o = static_cast<uint64_t>(off), n = static_cast<uint64_t>(len);
  MappingFault fault;
  Persistence& p = self->persist_;
  self->CheckFlushed(env, drain ? p.Persist(o, n, &fault) : p.Flush(o, n, &fault), fault, o, n);
  return nullptr;
}

napi_value Device::HotFlush(napi_env env, napi_callback_info info) { return HotWriteBack(env, info, false); }

napi_value Device::HotPersist(napi_env env, napi_callback_info info) { return HotWriteBack(env, info, true); }

// drain()
napi_value Device::HotDrain(napi_env env, napi_callback_info info) {
  Device* self = HotArgs(env, info, nullptr, 0);
  if (self == nullptr) return nullptr;
  if (self->CheckOpen(Napi::Env(env))) self->persist_.Fence();
  return nullptr;
}

bool Device::ReadRanges(napi_env env, napi_value arg, RangePairs* out) {
  uint8_t* bytes = nullptr;
  size_t count = 0;
  if (!ViewArg(env, arg, "ranges", &bytes, &count)) return false;
  out->n = count / sizeof(double) / 2;
  if (2 * out->n > sizeof out->small / sizeof out->small[0]) {
    out->large.resize(2 * out->n);
    out->data = out->large.data();
  }
  std::memcpy(out->data, bytes, 2 * out->n * sizeof(double));
  for (size_t i = 0; i < out->n; ++i) {
    if (!HotRange(env, out->data[2 * i], out->data[2 * i + 1])) return false;
  }
  return true;
}

bool Device::PersistRanges(napi_env env, const RangePairs& ranges) {
  const double* r = ranges.data;
  for (size_t i = 0; i < ranges.n; ++i) {
    uint64_t o = static_cast<uint64_t>(r[2 * i]), len = static_cast<uint64_t>(r[2 * i + 1]);
    MappingFault fault;
    if (!CheckFlushed(env, persist_.Flush(o, len, &fault), fault, o, len)) return false;
  }
  persist_.DrainAfterFlushes();
  return true;
}

// persistRanges(Float64Array [offset0, length0, offset1, length1, …]): one drain for the whole batch.
napi_value Device::HotPersistRanges(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Device* self = HotArgs(env, info, argv, 1);
  if (self == nullptr) return nullptr;
  RangePairs ranges;
  if (self->ReadRanges(env, argv[0], &ranges)) self->PersistRanges(env, ranges);
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
  double off = NumberArg(env, argv[0]);
  uint32_t flags = static_cast<uint32_t>(NumberArg(env, argv[2]));
  if (!self->CheckWritable(Napi::Env(env)) || !self->HotRange(env, off, static_cast<double>(len))) return nullptr;
  uint64_t o = static_cast<uint64_t>(off);
  MappingFault fault;
  return self->FinishStore(env, self->persist_.Copy(o, src, len, flags, &fault), fault, o, len, flags);
}

// move(dst, src, length, flags)
napi_value Device::HotMove(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Device* self = HotArgs(env, info, argv, 4);
  if (self == nullptr) return nullptr;
  double dst = NumberArg(env, argv[0]), src = NumberArg(env, argv[1]), len = NumberArg(env, argv[2]);
  uint32_t flags = static_cast<uint32_t>(NumberArg(env, argv[3]));
  if (!self->CheckWritable(Napi::Env(env)) || !self->HotRange(env, dst, len) || !self->HotRange(env, src, len)) return nullptr;
  uint64_t d = static_cast<uint64_t>(dst), n = static_cast<uint64_t>(len);
  MappingFault fault;
  return self->FinishStore(env, self->persist_.Move(d, static_cast<uint64_t>(src), n, flags, &fault), fault, d, n, flags);
}

// fill(offset, value, length, flags)
napi_value Device::HotFill(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Device* self = HotArgs(env, info, argv, 4);
  if (self == nullptr) return nullptr;
  double off = NumberArg(env, argv[0]), len = NumberArg(env, argv[2]);
  uint8_t value = static_cast<uint8_t>(static_cast<uint32_t>(NumberArg(env, argv[1])));
  uint32_t flags = static_cast<uint32_t>(NumberArg(env, argv[3]));
  if (!self->CheckWritable(Napi::Env(env)) || !self->HotRange(env, off, len)) return nullptr;
  uint64_t o = static_cast<uint64_t>(off), n = static_cast<uint64_t>(len);
  MappingFault fault;
  return self->FinishStore(env, self->persist_.Fill(o, value, n, flags, &fault), fault, o, n, flags);
}

// copySafe(offset, target): device bytes into target; SIGBUS on poison becomes EIO with the device offset.
napi_value Device::HotCopySafe(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Device* self = HotArgs(env, info, argv, 2);
  if (self == nullptr) return nullptr;
  uint8_t* dst = nullptr;
  size_t len = 0;
  if (!ViewArg(env, argv[1], "target", &dst, &len)) return nullptr;
  double off = NumberArg(env, argv[0]);
  if (!self->HotRange(env, off, static_cast<double>(len))) return nullptr;
  size_t at = 0;
  MappingFault fault;
  if (SafeCopy(dst, self->base_ + static_cast<uint64_t>(off), len, &at, &fault.bus) != 0) {
    fault.offset = static_cast<uint64_t>(off) + at;
    return self->ThrowFault(env, fault, "read", false);
  }
  return nullptr;
}

// treeSearch(offset, key, value, visited) -> the value's length (copied into `value`), -1 when the key is
// absent, -2 when the pages at `offset` cannot say (not well-formed, or a SIGBUS reading them: the caller
// reads them the checked way). `visited` (a Uint32Array) gets the count of pages visited, then their blocks.
napi_value Device::HotTreeSearch(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Device* self = HotArgs(env, info, argv, 4);
  if (self == nullptr) return nullptr;
  uint8_t *key = nullptr, *value = nullptr, *visited = nullptr;
  size_t key_len = 0, value_room = 0, visited_len = 0;
  if (!ViewArg(env, argv[1], "key", &key, &key_len) || !ViewArg(env, argv[2], "value", &value, &value_room) ||
      !ViewArg(env, argv[3], "visited", &visited, &visited_len)) {
    return nullptr;
  }
  if (visited_len < 4 * (1 + kTreeSearchMaxPages)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "visited must hold 34 uint32 values");
    return nullptr;
  }
  double off = NumberArg(env, argv[0]);
  if (!self->HotRange(env, off, 4096)) return nullptr;
  uint32_t blocks[kTreeSearchMaxPages];
  size_t pages = 0;
  int result = kTreeCannotSay;
  auto search = [&] {
    result = TreeSearch(self->base_, self->size_, static_cast<uint64_t>(off), key, key_len, value, value_room, blocks, &pages);
  };
  bool walked = OnMapping(self->base_, self->size_, search);
  return TreeWalkAnswer(env, walked, result, blocks, pages, visited);
}

// treeScan(offset, start, prefix, skipStart, limit, out, visited, names?) -> the keys of the tree at `offset`
// from `start` on (past it with skipStart) that begin with `prefix`, at most `limit`, into `out` (a u16 length
// and the bytes each): their count times two, plus one when no key in the range follows them; -2 when the
// pages cannot say (as treeSearch). `visited` gets the count of pages visited, then their blocks. With an
// array `names`, the keys are also set there as strings, and a key that is not a pool name makes it -2.
napi_value Device::HotTreeScan(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  Device* self = HotArgs(env, info, argv, 8);
  if (self == nullptr) return nullptr;
  napi_valuetype names_type = napi_undefined;
  bool names_array = false;
  napi_typeof(env, argv[7], &names_type);
  if (names_type != napi_undefined && (napi_is_array(env, argv[7], &names_array) != napi_ok || !names_array)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "names must be an Array");
    return nullptr;
  }
  uint8_t *start = nullptr, *prefix = nullptr, *out = nullptr, *visited = nullptr;
  size_t start_len = 0, prefix_len = 0, out_room = 0, visited_len = 0;
  if (!ViewArg(env, argv[1], "start", &start, &start_len) || !ViewArg(env, argv[2], "prefix", &prefix, &prefix_len) ||
      !ViewArg(env, argv[5], "out", &out, &out_room) || !ViewArg(env, argv[6], "visited", &visited, &visited_len)) {
    return nullptr;
  }
  if (visited_len < 4 * (1 + kTreeScanMaxPages)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "visited must hold 257 uint32 values");
    return nullptr;
  }
  double off = NumberArg(env, argv[0]), limit = NumberArg(env, argv[4]);
  bool skip = false;
  napi_get_value_bool(env, argv[3], &skip);
  if (!self->HotRange(env, off, 4096)) return nullptr;
  // No more keys than the output could hold anyway (a cast of a larger double, or Infinity, is undefined).
  double most = static_cast<double>(out_room / 2);
  TreeScanRange range{start, start_len, skip, prefix, prefix_len, static_cast<size_t>(limit > 0 ? (limit < most ? limit : most) : 0)};
  uint32_t blocks[kTreeScanMaxPages];
  size_t pages = 0;
  int result = kTreeCannotSay;
  auto scan = [&] {
    result = TreeScan(self->base_, self->size_, static_cast<uint64_t>(off), range, out, out_room, blocks, &pages);
  };
  bool walked = OnMapping(self->base_, self->size_, scan);
  // The keys are in `out` now, JavaScript's memory: no SIGBUS can cut the strings short.
  if (walked && result >= 0 && names_array && !SetNameStrings(env, out, static_cast<size_t>(result) / 2, argv[7])) {
    result = kTreeCannotSay;
  }
  return TreeWalkAnswer(env, walked, result, blocks, pages, visited);
}

// treeCheck(offset) -> whether the tree page at `offset` is as a checkpoint wrote it (TreePageWhole); false
// too for a SIGBUS reading it (the caller's checked read reports what is wrong).
napi_value Device::HotTreeCheck(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Device* self = HotArgs(env, info, argv, 1);
  if (self == nullptr) return nullptr;
  double off = NumberArg(env, argv[0]);
  if (!self->HotRange(env, off, 4096)) return nullptr;
  bool whole = false;
  auto check = [&] { whole = TreePageWhole(self->base_, self->size_, static_cast<uint64_t>(off)); };
  napi_value out;
  napi_get_boolean(env, OnMapping(self->base_, self->size_, check) && whole, &out);
  return out;
}

// hot() -> this device's handle for the hot functions: an External with no finalizer, so a device costs
// the garbage collector nothing native (functions made per device each left a native record that only
// the next turn of the event loop freed).
Napi::Value Device::Hot(const Napi::CallbackInfo& info) {
  napi_value handle;
  if (napi_create_external(info.Env(), this, nullptr, nullptr, &handle) != napi_ok) return info.Env().Undefined();
  return Napi::Value(info.Env(), handle);
}

// NativeDevice.hotPath -> { flush, drain, persist, persistRanges, copy, move, fill, copySafe, treeSearch,
// treeScan, treeCheck }, made once per environment; each takes a handle from hot() first.
Napi::Object Device::HotPath(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  struct Entry {
    const char* name;
    napi_callback cb;
  };
  static const Entry kEntries[] = {
      {"flush", SafeHot<HotFlush>}, {"drain", SafeHot<HotDrain>}, {"persist", SafeHot<HotPersist>},
      {"persistRanges", SafeHot<HotPersistRanges>}, {"copy", SafeHot<HotCopy>}, {"move", SafeHot<HotMove>},
      {"fill", SafeHot<HotFill>}, {"copySafe", SafeHot<HotCopySafe>}, {"treeSearch", SafeHot<HotTreeSearch>},
      {"treeScan", SafeHot<HotTreeScan>}, {"treeCheck", SafeHot<HotTreeCheck>},
  };
  for (const Entry& e : kEntries) {
    napi_value fn;
    if (napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.cb, nullptr, &fn) != napi_ok) return o;
    o.Set(e.name, Napi::Value(env, fn));
  }
  return o;
}

}  // namespace pmemdax
