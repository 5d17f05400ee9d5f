// persist -- how a device makes its stores durable, chosen once at open from the granularity × the source
// (stores through the mapping, or pwrite into a file) × the CPU's flush instruction, after libpmem2's
// persist.c: the hot path calls through one table of functions and tests nothing per call.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flush.h"
#include "guarded_store.h"
#include "memcpy_nt.h"

namespace pmemdax {

enum class Granularity { kByte, kCacheline, kPage };

struct DeviceStats {
  uint64_t flushed_lines = 0;
  uint64_t flush_calls = 0;
  uint64_t drains = 0;
  uint64_t msyncs = 0;
  uint64_t async_persists = 0;  // persistAsync jobs handed to the I/O threads
};

// msync(MS_SYNC) of the pages over [offset, offset+len) of the mapping at `base`: 0 or an errno. Takes no
// state, so an I/O thread can call it (the caller counts the msync on the JavaScript thread).
int MsyncPages(uint8_t* base, uint64_t offset, uint64_t len);

// What the table's functions act on.
struct PersistState {
  GuardedMapping map{nullptr, 0};
  int fd = -1;
  StorePolicy policy{};
  DeviceStats stats;
};

// The table. Write-backs and stores return 0, an errno (from msync or pwrite), or -1 with *fault set when a
// page of the mapping raised SIGBUS.
struct PersistFns {
  // Write-back of [offset, offset+len), unordered.
  int (*flush)(PersistState& s, uint64_t offset, uint64_t len, MappingFault* fault);
  // What makes the write-backs before it durable: a fence, or nothing after msync (which waits).
  void (*drain)(PersistState& s);
  int (*copy)(PersistState& s, uint64_t offset, const uint8_t* src, size_t len, uint32_t flags, MappingFault* fault);
  int (*fill)(PersistState& s, uint64_t offset, uint8_t value, size_t len, uint32_t flags, MappingFault* fault);
  // Flags every store adds: kNoFlush where write-back is left to flush after the stores (msync).
  uint32_t store_flags;
};

// PMEMDAX_FORCE_GRANULARITY, read before anything is mapped.
struct PersistOverride {
  bool set = false;
  Granularity granularity = Granularity::kPage;
};

// What the choice depends on, known once the source is mapped.
struct PersistTarget {
  GuardedMapping map;
  int fd;
  bool map_sync;
  const std::string& persistence_domain;
  bool file;  // a file, which pwrite reaches (device-dax has no pwrite)
  bool writable;
};

class Persistence {
 public:
  // False, with the message of the error to throw, when the variable is set but names no granularity.
  static bool ReadOverride(PersistOverride* out, std::string* message);
  // Fills the table; appends to *notes what the choice leaves a user to know.
  void Choose(const PersistOverride& forced, const PersistTarget& target, std::vector<std::string>* notes);

  int Flush(uint64_t offset, uint64_t len, MappingFault* fault) { return fns_.flush(state_, offset, len, fault); }
  // Flush, then drain.
  int Persist(uint64_t offset, uint64_t len, MappingFault* fault) {
    int err = Flush(offset, len, fault);
    if (err == 0) fns_.drain(state_);
    return err;
  }
  // Once after a batch of flushes.
  void DrainAfterFlushes() { fns_.drain(state_); }
  // The caller's drain(): a counted store fence at every granularity.
  void Fence();
  int Copy(uint64_t offset, const uint8_t* src, size_t len, uint32_t flags, MappingFault* fault) {
    return fns_.copy(state_, offset, src, len, flags | fns_.store_flags, fault);
  }
  int Fill(uint64_t offset, uint8_t value, size_t len, uint32_t flags, MappingFault* fault) {
    return fns_.fill(state_, offset, value, len, flags | fns_.store_flags, fault);
  }
  int Move(uint64_t dst, uint64_t src, size_t len, uint32_t flags, MappingFault* fault);
  // What `flags` leave to do after a copy, fill or move of [offset, offset+len): 0 or an errno from msync.
  int FinishStore(uint64_t offset, uint64_t len, uint32_t flags);
  // A store of [offset, …) faulted at fault_offset: best effort, the bytes before the fault are made durable
  // as `flags` ask (the fault is the error to report, whatever msync says).
  void FinishFaultedStore(uint64_t offset, uint64_t fault_offset, uint32_t flags);

  // The mapping grew in place (Device::Grow): stores and write-backs may reach `size` bytes.
  void Resize(uint64_t size) { state_.map.size = size; }

  bool PagesByMsync() const { return granularity_ == Granularity::kPage; }
  // For counts made on the JavaScript thread for work done on the I/O threads.
  DeviceStats& MutableStats() { return state_.stats; }

  const char* GranularityName() const;
  const char* FlushName() const;  // the instruction, "msync" or "none"
  const StorePolicy& Policy() const { return state_.policy; }
  const DeviceStats& Stats() const { return state_.stats; }

 private:
  bool StoresLeaveFlush() const { return (fns_.store_flags & kNoFlush) != 0; }

  PersistFns fns_{};
  PersistState state_;
  Granularity granularity_ = Granularity::kPage;
  FlushKind flush_kind_ = FlushKind::kClflush;
};

}  // namespace pmemdax
