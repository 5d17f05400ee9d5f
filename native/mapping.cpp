#include "mapping.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

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

int MapSource(int fd, size_t size, size_t alignment, bool writable, bool try_sync, Mapping* out) {
  void* aligned = ReserveAligned(size, alignment);
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
        munmap(aligned, size);
        return err;
      }
      out->map_sync_reason = std::string("the kernel refused MAP_SYNC for this file (") + strerrorname_np(err) +
                             "): it is not on a DAX-capable filesystem or device";
    }
  }
  if (addr == MAP_FAILED) addr = mmap(aligned, size, prot, MAP_SHARED | MAP_FIXED, fd, 0);
  if (addr == MAP_FAILED) {
    int err = errno;
    munmap(aligned, size);
    return err;
  }
  out->addr = addr;
  out->size = size;
  out->alignment = alignment;
  return 0;
}

void Unmap(Mapping* m) {
  if (m->addr != nullptr) munmap(m->addr, m->size);
  m->addr = nullptr;
}

}  // namespace pmemdax
