// file_lock -- flock on a device's descriptor, and whether its path still names the file it opened.
#pragma once
#include <cstdint>
#include <string>

namespace pmemdax {

// The numbers are what JavaScript passes (exported as constants.lock).
enum class LockMode : uint32_t { kNone = 0, kShared = 1, kExclusive = 2 };

// flock(fd, op), again after EINTR; 0 or an errno.
int FlockRetrying(int fd, int op);

// Takes `mode` without waiting (kNone unlocks); 0, EWOULDBLOCK when another open file description holds a
// conflicting lock, or another errno.
int TryLock(int fd, LockMode mode);

// True when `path` still names the file open on `fd` (same device and inode, not unlinked). A lock taken on
// a file that was removed or replaced meanwhile guards nothing, and only a file still at `path` may be
// removed by path.
bool NamesFile(const std::string& path, int fd);

}  // namespace pmemdax
