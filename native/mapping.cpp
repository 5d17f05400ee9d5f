#include "mapping.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace pmemdax {

namespace {

// Reserves size+alignment of address space and returns the aligned start inside it; the caller maps over
// it with MAP_FIXED and trims the slack.
void* ReserveAligned(size_t size, size_t alignment, size_t* reserved) {
  *reserved = size + alignment;
  void* base = mmap(nullptr, *reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return nullptr;
  return base;
}

void TrimReservation(void* base, size_t reserved, void* used, size_t size) {
  auto b = reinterpret_cast<uintptr_t>(base);
  auto u = reinterpret_cast<uintptr_t>(used);
  if (u > b) munmap(base, u - b);
  uintptr_t end = u + size, rend = b + reserved;
  if (rend > end) munmap(reinterpret_cast<void*>(end), rend - end);
}

}  // namespace

int MapSource(int fd, size_t size, size_t alignment, bool writable, bool try_sync, Mapping* out) {
  size_t reserved = 0;
  void* base = ReserveAligned(size, alignment, &reserved);
  if (base == nullptr) return errno;
  auto aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(base) + alignment - 1) & ~(alignment - 1));
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
        munmap(base, reserved);
        return err;
      }
      out->map_sync_reason = std::string("the kernel refused MAP_SYNC for this file (") + strerrorname_np(err) +
                             "): it is not on a DAX-capable filesystem or device";
    }
  }
  if (addr == MAP_FAILED) addr = mmap(aligned, size, prot, MAP_SHARED | MAP_FIXED, fd, 0);
  if (addr == MAP_FAILED) {
    int err = errno;
    munmap(base, reserved);
    return err;
  }
  TrimReservation(base, reserved, addr, size);
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
