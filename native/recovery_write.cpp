#include "recovery_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "badblocks.h"

namespace pmemdax {

int PwriteAll(int fd, const uint8_t* data, size_t len, uint64_t offset) {
  while (len > 0) {
    ssize_t n = pwrite(fd, data, len, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    data += n;
    offset += static_cast<uint64_t>(n);
    len -= static_cast<size_t>(n);
  }
  return 0;
}

bool RecoveryWrite(int fd, const SourceInfo& src, uint64_t size, uint64_t offset, const uint8_t* data, size_t len,
                   SyscallFailure* failure) {
  auto fail = [&](int err, const char* syscall) {
    *failure = SyscallFailure{err, syscall, offset, len};
    return false;
  };
  const off_t at = static_cast<off_t>(offset), n = static_cast<off_t>(len);
  int err = PwriteAll(fd, data, len, offset);
  if (err == EIO) {
    // Older kernels cannot write over poison: give the blocks back and take fresh ones instead.
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, n) != 0 || fallocate(fd, 0, at, n) != 0) {
      return fail(errno, "fallocate");
    }
    err = PwriteAll(fd, data, len, offset);
  }
  if (err != 0) return fail(err, "pwrite");
  if (fdatasync(fd) != 0) return fail(errno, "fdatasync");
  std::vector<ByteRange> bad;
  err = ReadBadblocks(fd, src, size, &bad);
  if (err != 0) return fail(err, "badblocks");
  for (const ByteRange& r : bad) {
    if (r.offset < offset + len && offset < r.offset + r.length) {
      *failure = SyscallFailure{EIO, "pwrite", r.offset, r.length};
      return false;
    }
  }
  return true;
}

}  // namespace pmemdax
