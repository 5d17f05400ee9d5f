// guarded_store -- copies, fills, moves and write-backs through a device mapping that end in an error
// instead of killing the process when a page raises SIGBUS (poison, a file truncated under the mapping, a
// hole the filesystem has no space left to fill), and what such a fault most likely was.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "memcpy_nt.h"
#include "sigbus.h"
#include "source.h"

namespace pmemdax {

// The mapping of a device, whose faults the accesses below recover.
struct GuardedMapping {
  uint8_t* base;
  uint64_t size;
};

// Where an access failed: the device offset of the start of the failing page, no lower than the start of
// the range (destination or, for a move, source) that holds it.
struct MappingFault {
  uint64_t offset = 0;
  BusFault bus;
};

// Each stores as CopyToPmem / FillPmem do and adds the lines written back to *flushed; false with *fault
// set when a page faulted. Then, unless a move's ranges overlap, every destination byte before the failing
// page (or before the bytes the failing source page was to supply) is stored and written back as `flags`
// say; later bytes of the range are unspecified. An overlapping move leaves both ranges unspecified.
bool GuardedCopy(const StorePolicy& p, const GuardedMapping& m, uint64_t offset, const uint8_t* src, size_t len,
                 uint32_t flags, uint64_t* flushed, MappingFault* fault);
bool GuardedFill(const StorePolicy& p, const GuardedMapping& m, uint64_t offset, uint8_t value, size_t len,
                 uint32_t flags, uint64_t* flushed, MappingFault* fault);
bool GuardedMove(const StorePolicy& p, const GuardedMapping& m, uint64_t dst, uint64_t src, size_t len, uint32_t flags,
                 uint64_t* flushed, MappingFault* fault);
// Cache write-back of [offset, offset+len) with `flush`.
bool GuardedFlush(FlushFn flush, const GuardedMapping& m, uint64_t offset, size_t len, uint64_t* flushed,
                  MappingFault* fault);

// What a fault most likely was, as an errno and words for the message.
struct FaultCause {
  int err;
  std::string detail;
};

// ExplainFault -- EIO "poisoned media" when the machine check says so or the page is in the device's
// badblocks list; otherwise, on a file, EIO "the mapping is gone" when the page now lies at or past the
// file's end (truncated under the mapping), and for a store ENOSPC when the page is a hole or the
// filesystem has no space left; otherwise EIO with both possibilities named. Reads the list and the file's
// state again: call it on the error path only.
FaultCause ExplainFault(int fd, const SourceInfo& src, uint64_t size, const MappingFault& fault, bool store);

}  // namespace pmemdax
