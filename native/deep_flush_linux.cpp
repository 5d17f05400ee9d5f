#include "deep_flush_linux.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace pmemdax {

DeepFlushResult DeepFlushRegion(const SourceInfo& src, DeepFlushFailure* failure) {
  if (!src.deep_flush) return DeepFlushResult::kNotNeeded;
  std::string control = src.region + "/deep_flush";
  int fd = open(control.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == EACCES || errno == EPERM || errno == EROFS) return DeepFlushResult::kNotPermitted;
    *failure = DeepFlushFailure{errno, "open", control};
    return DeepFlushResult::kFailed;
  }
  ssize_t w = write(fd, "1", 1);
  int err = errno;
  close(fd);
  if (w == 1) return DeepFlushResult::kDone;
  if (err == EACCES || err == EPERM) return DeepFlushResult::kNotPermitted;
  *failure = DeepFlushFailure{err, "write", std::move(control)};
  return DeepFlushResult::kFailed;
}

}  // namespace pmemdax
