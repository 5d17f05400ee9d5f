// mapping -- an aligned shared mapping of the whole source, with MAP_SYNC where the kernel allows it.
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
  size_t size = 0;
  size_t alignment = 0;
  bool map_sync = false;
  std::string map_sync_reason;  // why MAP_SYNC is not in use, empty when it is
};

// ReserveAligned -- `size` bytes of inaccessible address space starting at an `alignment`-aligned address (a
// power of two), for mapping over with MAP_FIXED; nullptr with errno set on failure.
void* ReserveAligned(size_t size, size_t alignment);

// MapSource -- maps [0, size) of fd at an address aligned to `alignment` (a power of two). Tries
// MAP_SHARED_VALIDATE|MAP_SYNC first unless `try_sync` is false; on EOPNOTSUPP or EINVAL falls back to
// MAP_SHARED and records the kernel's answer. Returns 0 or an errno (from mmap).
int MapSource(int fd, size_t size, size_t alignment, bool writable, bool try_sync, Mapping* out);

void Unmap(Mapping* m);

}  // namespace pmemdax
