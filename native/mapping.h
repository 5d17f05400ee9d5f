// mapping -- an aligned shared mapping of the whole source, with MAP_SYNC where the kernel allows it, at the start
// of a reservation of address space that the mapping can grow into without moving.
#pragma once
#include <cstddef>
#include <sys/mman.h>

#include <string>

// Older libc headers lack these (Linux 4.15+).
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

namespace pmemdax {

struct Mapping {
  void* addr = nullptr;
  size_t size = 0;      // bytes of the source mapped
  size_t reserved = 0;  // bytes of address space from addr (at least size): the most the mapping can grow to
  size_t alignment = 0;
  bool map_sync = false;
  std::string map_sync_reason;  // why MAP_SYNC is not in use, empty when it is
};

// ReserveAligned -- `size` bytes of inaccessible address space starting at an `alignment`-aligned address (a
// power of two), for mapping over with MAP_FIXED; nullptr with errno set on failure.
void* ReserveAligned(size_t size, size_t alignment);

// MapSource -- maps [0, size) of fd at an address aligned to `alignment` (a power of two), at the start of
// `reserve` bytes of inaccessible address space (at least `size`). Tries MAP_SHARED_VALIDATE|MAP_SYNC first
// unless `try_sync` is false; on EOPNOTSUPP or EINVAL falls back to MAP_SHARED and records the kernel's
// answer. Returns 0 or an errno (from mmap).
int MapSource(int fd, size_t size, size_t reserve, size_t alignment, bool writable, bool try_sync, Mapping* out);

// GrowMapping -- maps the source up to `size` bytes (no more than m->reserved) after what is mapped, into the
// reservation, with the flags of the first mapping: the address of every mapped byte stays the same. Returns
// 0 or an errno (from mmap); on failure the mapping is as it was.
int GrowMapping(int fd, Mapping* m, size_t size, bool writable);

void Unmap(Mapping* m);

}  // namespace pmemdax
