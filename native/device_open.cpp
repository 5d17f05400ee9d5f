// Device::Open -- the open, lock and size policy of a device, its mapping, and the persistence chosen for it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "cpu.h"
#include "device.h"
#include "errors.h"
#include "units.h"

namespace pmemdax {

namespace {
// Only a regular file or a character device (device-dax, checked later) is mapped; a directory is EISDIR
// as open(2) would say for writing. Anything else (a FIFO, a socket, a block device) is closed unread. On
// success the descriptor is made blocking again.
bool OpenableSource(Napi::Env env, int fd, const std::string& path, const ErrorContext& ctx) {
  struct stat st;
  int err = fstat(fd, &st) == 0 ? 0 : errno;
  if (err == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) err = S_ISDIR(st.st_mode) ? EISDIR : ENODEV;
  if (err == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) err = errno;
  if (err == 0) return true;
  close(fd);
  if (err == ENODEV) {
    PmemdaxError(env, "ERR_PMEMDAX_UNSUPPORTED_SOURCE",
                 "'" + path + "' is neither a regular file nor a device-dax character device", ctx)
        .ThrowAsJavaScriptException();
  } else {
    ErrnoError(env, err, err == EISDIR ? "open" : "fstat", ctx).ThrowAsJavaScriptException();
  }
  return false;
}

// Address space reserved past the size of a file (a writer grows into it; a read-only open follows another open's
// grow), by default: three times its size, at least 1 GiB, at most 256 GiB. A reservation costs no memory, only
// address space (128 TiB for a process on x86-64):
// at the most a few hundred large devices could be open at once, and thousands of small ones.
constexpr uint64_t kMinGrowthRoom = 1ull << 30;
constexpr uint64_t kMaxGrowthRoom = 256ull << 30;

uint64_t ReserveFor(const SourceInfo& src, uint64_t max_size) {
  if (src.kind == SourceKind::kDevdax) return src.size;
  if (max_size != 0) return max_size > src.size ? max_size : src.size;
  uint64_t room = src.size > kMaxGrowthRoom / 3 ? kMaxGrowthRoom : 3 * src.size;
  return src.size + (room < kMinGrowthRoom ? kMinGrowthRoom : room);
}

}  // namespace

int AllocateFile(int fd, uint64_t size) {
  // Allocate, not just extend: a store through the mapping into a sparse file can raise SIGBUS on ENOSPC.
  int err = posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (err != EOPNOTSUPP && err != EINVAL) return err;
  // No fallocate here (tmpfs of old kernels, some network filesystems): extend only, never cut.
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  if (static_cast<uint64_t>(st.st_size) >= size) return 0;
  return ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : errno;
}

bool Device::Open(Napi::Env env, const std::string& path, const OpenRequest& req) {
  path_ = path;
  ErrorContext ctx{path};
  writable_ = !req.readonly;
  // O_NONBLOCK so that opening a FIFO (or another special file) returns at once instead of waiting for
  // a writer; it is refused just below and cleared on what is kept. O_NOCTTY: a tty never becomes ours.
  int flags = (req.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  int fd = -1;
  // A lock is taken before the file is sized or read. If the file was removed or replaced between the
  // open and the lock (its creator gave up on it), the open starts again on what the path names now.
  for (int attempt = 0;; ++attempt) {
    created_ = false;
    fd = -1;
    if (req.create && !req.readonly) {
      fd = open(path.c_str(), flags | O_CREAT | O_EXCL, req.mode);
      created_ = fd >= 0;
      if (fd < 0 && errno != EEXIST) {
        ErrnoError(env, errno, "open", ctx).ThrowAsJavaScriptException();
        return false;
      }
    }
    if (fd < 0) fd = open(path.c_str(), flags);
    if (fd < 0) {
      ErrnoError(env, errno, "open", ctx).ThrowAsJavaScriptException();
      return false;
    }
    // What was opened, not what the path named a moment before: fstat on the descriptor is race-free.
    if (!OpenableSource(env, fd, path, ctx)) return false;
    if (req.lock == LockMode::kNone) break;
    int err = TryLock(fd, req.lock);
    // A file this call has just made is locked by another open for an instant at most when that open is a
    // reader that found it empty and asks whether a creator holds it (a shared lock, taken and dropped):
    // asked again for up to 10 ms. One held longer is a racer's that locked first.
    const bool waited = err == EWOULDBLOCK;
    for (int again = 0; err == EWOULDBLOCK && created_ && again < 100; ++again) {
      usleep(100);
      err = TryLock(fd, req.lock);
    }
    // A file this call created but another open locked first is that open's now: it is left alone. So is one
    // whose lock came free while this call waited, if the open that held it wrote to it (a racer that made a
    // pool there and closed it within the wait): it is not this call's to remove on a failure.
    if (err == 0 && waited && created_) {
      struct stat st;
      if (fstat(fd, &st) != 0 || st.st_size != 0) created_ = false;
    }
    if (err == 0 && NamesFile(path, fd)) break;
    close(fd);
    if (err != 0 || attempt == 8) {
      ErrnoError(env, err != 0 ? err : EAGAIN, "flock", ctx).ThrowAsJavaScriptException();
      return false;
    }
  }
  lock_ = req.lock;
  auto fail = [&](Napi::Error e) {
    // Removed only while the path still names the file this call made (and, if asked for, locked).
    if (created_ && NamesFile(path, fd)) unlink(path.c_str());
    close(fd);
    e.ThrowAsJavaScriptException();
    return false;
  };

  int err = ClassifySource(fd, &src_);
  if (err == ENODEV) {
    return fail(PmemdaxError(env, "ERR_PMEMDAX_UNSUPPORTED_SOURCE",
                             "'" + path + "' is neither a regular file nor a device-dax character device", ctx));
  }
  if (err != 0) return fail(ErrnoError(env, err, "fstat", ctx));

  const uint64_t size = req.size;
  // Sizing an existing non-empty file may be left to the caller, which decides under the lock what it holds.
  if (src_.kind != SourceKind::kDevdax && size > src_.size && (req.grow_existing || src_.size == 0)) {
    if (req.readonly) {
      return fail(PmemdaxError(env, "ERR_PMEMDAX_SIZE", "'" + path + "' is smaller than the requested size and is opened read-only", ctx));
    }
    err = AllocateFile(fd, size);
    if (err != 0) return fail(ErrnoError(env, err, "fallocate", ctx));
    src_.size = size;
  }
  if (src_.kind == SourceKind::kDevdax && size > src_.size) {
    return fail(PmemdaxError(env, "ERR_PMEMDAX_SIZE", "device-dax '" + path + "' has " + std::to_string(src_.size) +
                                 " bytes, fewer than the " + std::to_string(size) + " requested", ctx));
  }
  if (src_.size == 0) {
    return fail(PmemdaxError(env, "ERR_PMEMDAX_EMPTY", "'" + path + "' is empty; pass a size to create or grow it", ctx));
  }

  // Read the override before mapping, so a bad value fails without anything to undo but the open.
  PersistOverride forced;
  std::string bad_override;
  if (!Persistence::ReadOverride(&forced, &bad_override)) return fail(PmemdaxError(env, "ERR_PMEMDAX_BAD_ENV", bad_override));

  size_t alignment = src_.alignment > kPmdSize ? src_.alignment : kPmdSize;
  auto mapped = std::make_shared<MappedSource>();
  err = MapSource(fd, src_.size, ReserveFor(src_, req.max_size), alignment, writable_, !EnvFlag("PMEMDAX_NO_MAP_SYNC"), &mapped->map);
  if (err != 0) return fail(ErrnoError(env, err, "mmap", ctx));
  mapped->fd = fd;
  mapped_ = mapped;
  base_ = static_cast<uint8_t*>(mapped->map.addr);
  size_ = src_.size;
  // Kernels without STATX_ATTR_DAX still prove DAX by accepting MAP_SYNC on a pmem-backed file.
  if (src_.kind == SourceKind::kFile && src_.pmem && mapped->map.map_sync) src_.kind = SourceKind::kFsdax;
  if (src_.kind == SourceKind::kFile && src_.pmem && !mapped->map.map_sync && writable_) {
    notes_.push_back("the file is on a pmem device but its filesystem is not mounted with -o dax: stores go through the page cache");
  }

  persist_.Choose(forced,
                  PersistTarget{GuardedMapping{base_, size_}, fd, mapped->map.map_sync, src_.persistence_domain,
                                src_.kind != SourceKind::kDevdax, writable_},
                  &notes_);
  return true;
}

}  // namespace pmemdax
