#include "file_lock.h"

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

bool NamesFile(const std::string& path, int fd) {
  struct stat opened, named;
  if (fstat(fd, &opened) != 0 || stat(path.c_str(), &named) != 0) return false;
  return opened.st_nlink > 0 && opened.st_dev == named.st_dev && opened.st_ino == named.st_ino;
}

}  // namespace pmemdax
