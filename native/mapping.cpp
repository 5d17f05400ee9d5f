#include "mapping.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "units.h"

namespace pmemdax {

void* ReserveAligned(size_t size, size_t alignment) {
  size_t reserved = size + alignment;
  void* raw = mmap(nullptr, reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  auto r = reinterpret_cast<uintptr_t>(raw);
  uintptr_t start = (r + alignment - 1) & ~(alignment - 1);
  if (start > r) munmap(raw, start - r);
  uintptr_t end = start + size, rend = r + reserved;
  if (rend > end) munmap(reinterpret_cast<void*>(end), rend - end);
  return reinterpret_cast<void*>(start);
}

int MapSource(int fd, size_t size, size_t reserve, size_t alignment, bool writable, bool try_sync, Mapping* out) {
  size_t reserved = reserve > size ? reserve : size;
  reserved = (reserved + alignment - 1) & ~(alignment - 1);
  void* aligned = ReserveAligned(reserved, alignment);
  if (aligned == nullptr) return errno;
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);

  void* addr = MAP_FAILED;
  out->map_sync = false;
  if (!writable) {
    out->map_sync_reason = "opened read-only: MAP_SYNC applies to writable shared mappings only";
  } else if (!try_sync) {
    out->map_sync_reason = "disabled by PMEMDAX_NO_MAP_SYNC";
  } else {
    addr = mmap(aligned, size, prot, MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED, fd, 0);
    if (addr != MAP_FAILED) {
      out->map_sync = true;
    } else {
      int err = errno;
      if (err != EOPNOTSUPP && err != EINVAL) {
        munmap(aligned, reserved);
        return err;
      }
      out->map_sync_reason = std::string("the kernel refused MAP_SYNC for this file (") + strerrorname_np(err) +
                             "): it is not on a DAX-capable filesystem or device";
    }
  }
  if (addr == MAP_FAILED) addr = mmap(aligned, size, prot, MAP_SHARED | MAP_FIXED, fd, 0);
  if (addr == MAP_FAILED) {
    int err = errno;
    munmap(aligned, reserved);
    return err;
  }
  out->addr = addr;
  out->size = size;
  out->reserved = reserved;
  out->alignment = alignment;
  return 0;
}

int GrowMapping(int fd, Mapping* m, size_t size, bool writable) {
  // The page holding the old end is mapped already (mmap maps whole pages); the new part starts after it.
  size_t from = (m->size + kPageSize - 1) & ~(kPageSize - 1);
  size_t to = (size + kPageSize - 1) & ~(kPageSize - 1);
  if (to > m->reserved) return ENOMEM;
  if (to > from) {
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    // The same flags as the first mapping: one part with MAP_SYNC and one without would need two persistence policies.
    int flags = (m->map_sync ? MAP_SHARED_VALIDATE | MAP_SYNC : MAP_SHARED) | MAP_FIXED;
    uint8_t* at = static_cast<uint8_t*>(m->addr) + from;
    if (mmap(at, to - from, prot, flags, fd, static_cast<off_t>(from)) == MAP_FAILED) {
      int err = errno;
      // A failed MAP_FIXED may have unmapped the range already: put the reservation back.
      mmap(at, to - from, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
      return err;
    }
  }
  m->size = size;
  return 0;
}

void Unmap(Mapping* m) {
  if (m->addr != nullptr) munmap(m->addr, m->reserved > m->size ? m->reserved : m->size);
  m->addr = nullptr;
}

}  // namespace pmemdax
