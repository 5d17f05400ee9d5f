#include "guarded_store.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "badblocks.h"
#include "units.h"

namespace pmemdax {

namespace {

uintptr_t Lo(const GuardedMapping& m) { return reinterpret_cast<uintptr_t>(m.base); }
uintptr_t Hi(const GuardedMapping& m) { return Lo(m) + m.size; }

// Sets *fault from the SIGBUS of an access to `len` bytes at device offset `dst` (and, for a move, from `src`).
void Locate(const GuardedMapping& m, const BusFault& bus, uint64_t dst, uint64_t src, size_t len, MappingFault* fault) {
  uint64_t at = bus.addr - Lo(m);
  uint64_t start = at >= src && at < src + len ? src : dst;
  fault->offset = std::max(at & ~(kPageSize - 1), start);
  fault->bus = bus;
}

// After a fault: the store again in chunks that end at page boundaries of the destination and of the
// source, in order. A store may visit its bytes out of order within a chunk (memcpy can do the tail first)
// but never across one, so when a chunk faults every chunk before it is done.
template <typename Store>
bool ByPage(const GuardedMapping& m, const uint8_t* dst, const uint8_t* src, size_t len, Store& store, BusFault* bus) {
  auto d = reinterpret_cast<uintptr_t>(dst), s = reinterpret_cast<uintptr_t>(src);
  auto run = [&] {
    for (size_t done = 0; done < len;) {
      size_t n = std::min<size_t>(kPageSize - ((d + done) & (kPageSize - 1)), len - done);
      n = std::min<size_t>(n, kPageSize - ((s + done) & (kPageSize - 1)));
      store(done, n);
      done += n;
    }
  };
  return Guarded(Lo(m), Hi(m), run, bus);
}

// The store in one go (the common case costs a sigsetjmp), then, only after a fault, page by page.
template <typename Whole, typename Chunk>
bool Store(const GuardedMapping& m, uint64_t dst, const uint8_t* src, size_t len, Whole& whole, Chunk& chunk,
           MappingFault* fault) {
  BusFault bus;
  if (Guarded(Lo(m), Hi(m), whole, &bus)) return true;
  if (ByPage(m, m.base + dst, src != nullptr ? src : m.base + dst, len, chunk, &bus)) return true;
  uintptr_t s = reinterpret_cast<uintptr_t>(src);
  uint64_t src_offset = src != nullptr && s >= Lo(m) && s < Hi(m) ? s - Lo(m) : dst;
  Locate(m, bus, dst, src_offset, len, fault);
  return false;
}

bool IsHole(int fd, uint64_t offset) {
  off_t hole = lseek(fd, static_cast<off_t>(offset), SEEK_HOLE);
  return hole >= 0 && static_cast<uint64_t>(hole) <= offset;
}

bool FilesystemFull(int fd) {
  struct statvfs vfs;
  return fstatvfs(fd, &vfs) == 0 && vfs.f_bavail == 0;
}

}  // namespace

bool GuardedCopy(const StorePolicy& p, const GuardedMapping& m, uint64_t offset, const uint8_t* src, size_t len,
                 uint32_t flags, uint64_t* flushed, MappingFault* fault) {
  uint8_t* d = m.base + offset;
  size_t lines = 0;
  auto whole = [&] { lines = CopyToPmem(p, d, src, len, flags); };
  auto chunk = [&](size_t done, size_t n) { lines += CopyToPmem(p, d + done, src + done, n, flags); };
  bool ok = Store(m, offset, src, len, whole, chunk, fault);
  *flushed += lines;
  return ok;
}

bool GuardedFill(const StorePolicy& p, const GuardedMapping& m, uint64_t offset, uint8_t value, size_t len,
                 uint32_t flags, uint64_t* flushed, MappingFault* fault) {
  uint8_t* d = m.base + offset;
  size_t lines = 0;
  auto whole = [&] { lines = FillPmem(p, d, value, len, flags); };
  auto chunk = [&](size_t done, size_t n) { lines += FillPmem(p, d + done, value, n, flags); };
  bool ok = Store(m, offset, nullptr, len, whole, chunk, fault);
  *flushed += lines;
  return ok;
}

bool GuardedMove(const StorePolicy& p, const GuardedMapping& m, uint64_t dst, uint64_t src, size_t len, uint32_t flags,
                 uint64_t* flushed, MappingFault* fault) {
  uint8_t* d = m.base + dst;
  const uint8_t* s = m.base + src;
  size_t lines = 0;
  auto whole = [&] { lines = CopyToPmem(p, d, s, len, flags); };
  bool ok;
  if (dst < src + len && src < dst + len) {
    // Overlapping: part of the source may be overwritten already, so the move cannot be repeated.
    BusFault bus;
    ok = Guarded(Lo(m), Hi(m), whole, &bus);
    if (!ok) Locate(m, bus, dst, src, len, fault);
  } else {
    auto chunk = [&](size_t done, size_t n) { lines += CopyToPmem(p, d + done, s + done, n, flags); };
    ok = Store(m, dst, s, len, whole, chunk, fault);
  }
  *flushed += lines;
  return ok;
}

bool GuardedFlush(FlushFn flush, const GuardedMapping& m, uint64_t offset, size_t len, uint64_t* flushed,
                  MappingFault* fault) {
  size_t lines = 0;
  auto run = [&] { lines = flush(m.base + offset, len); };
  BusFault bus;
  bool ok = Guarded(Lo(m), Hi(m), run, &bus);
  if (!ok) Locate(m, bus, offset, offset, len, fault);
  *flushed += lines;
  return ok;
}

FaultCause ExplainFault(int fd, const SourceInfo& src, uint64_t size, const MappingFault& fault, bool store) {
  const char* poison = "poisoned media";
  if (fault.bus.code == BUS_MCEERR_AR || fault.bus.code == BUS_MCEERR_AO) return {EIO, poison};
  std::vector<ByteRange> bad;
  if (ReadBadblocks(fd, src, size, &bad) == 0) {
    for (const ByteRange& r : bad) {
      if (r.offset < fault.offset + kPageSize && fault.offset < r.offset + r.length) return {EIO, poison};
    }
  }
  if (src.kind != SourceKind::kDevdax) {
    struct stat st;
    if (fstat(fd, &st) == 0 && fault.offset >= static_cast<uint64_t>(st.st_size)) {
      return {EIO, "the mapping is gone: the file was truncated to " + std::to_string(st.st_size) + " bytes"};
    }
    // A store faults on a page inside the file only if the filesystem could not give it a block.
    if (store && (IsHole(fd, fault.offset) || FilesystemFull(fd))) {
      return {ENOSPC, "a store into a hole of the file found its filesystem full"};
    }
  }
  return {EIO, "the mapping is gone (file truncated or space exhausted)"};
}

}  // namespace pmemdax
