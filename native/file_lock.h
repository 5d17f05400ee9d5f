// file_lock -- flock and range (OFD) locks on a device's descriptor, and whether its path still names the file it opened.
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

// An open-file-description lock (fcntl F_OFD_*) on bytes [start, start+length) of the file open on `fd`:
// unlike flock it covers a range, so one file carries many independent locks (a pool's writer byte and its
// readers' claims), and unlike classic POSIX locks it belongs to the open, not the process, and goes when
// the descriptor closes (SIGKILL included). Takes `mode` without waiting (kNone unlocks the range); 0,
// EAGAIN when another open file description holds a conflicting lock, or another errno.
int RangeLock(int fd, int64_t start, int64_t length, LockMode mode);

// Whether a lock of `mode` (kShared or kExclusive) on [start, start+length) would conflict with one another
// open holds (F_OFD_GETLK): 0 with *found false when none would, 0 with *found true and *held_start the
// first byte of one conflicting lock, or an errno. Locks of this open never conflict with it.
int RangeConflict(int fd, int64_t start, int64_t length, LockMode mode, bool* found, int64_t* held_start);

// True when `path` still names the file open on `fd` (same device and inode, not unlinked). A lock taken on
// a file that was removed or replaced meanwhile guards nothing, and only a file still at `path` may be
// removed by path.
bool NamesFile(const std::string& path, int fd);

}  // namespace pmemdax
