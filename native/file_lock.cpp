#include "file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

namespace pmemdax {

int FlockRetrying(int fd, int op) {
  int rc;
  do rc = flock(fd, op);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

int TryLock(int fd, LockMode mode) {
  switch (mode) {
    case LockMode::kExclusive: return FlockRetrying(fd, LOCK_EX | LOCK_NB);
    case LockMode::kShared: return FlockRetrying(fd, LOCK_SH | LOCK_NB);
    case LockMode::kNone: break;
  }
  return FlockRetrying(fd, LOCK_UN);
}

namespace {

struct flock RangeOf(int64_t start, int64_t length, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = length;
  fl.l_pid = 0;  // F_OFD_* require it
  return fl;
}

short TypeOf(LockMode mode) {
  return mode == LockMode::kExclusive ? F_WRLCK : mode == LockMode::kShared ? F_RDLCK : F_UNLCK;
}

int FcntlRetrying(int fd, int cmd, struct flock* fl) {
  int rc;
  do rc = fcntl(fd, cmd, fl);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

}  // namespace

int RangeLock(int fd, int64_t start, int64_t length, LockMode mode) {
  struct flock fl = RangeOf(start, length, TypeOf(mode));
  const int err = FcntlRetrying(fd, F_OFD_SETLK, &fl);
  return err == EACCES ? EAGAIN : err;
}

int RangeConflict(int fd, int64_t start, int64_t length, LockMode mode, bool* found, int64_t* held_start) {
  struct flock fl = RangeOf(start, length, TypeOf(mode));
  const int err = FcntlRetrying(fd, F_OFD_GETLK, &fl);
  if (err != 0) return err;
  *found = fl.l_type != F_UNLCK;
  *held_start = fl.l_start;
  return 0;
}

bool NamesFile(const std::string& path, int fd) {
  struct stat opened, named;
  if (fstat(fd, &opened) != 0 || stat(path.c_str(), &named) != 0) return false;
  return opened.st_nlink > 0 && opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

}  // namespace pmemdax
