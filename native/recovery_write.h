// recovery_write -- clearing poison on fsdax by writing over it, and the whole-range pwrite it (and the
// pwrite copy path of persist.cpp) rests on.
#pragma once
#include <cstddef>
#include <cstdint>

#include "source.h"

namespace pmemdax {

// pwrite of all `len` bytes at `offset`, again after EINTR and short writes; 0 or an errno (EIO when the
// file takes no more bytes).
int PwriteAll(int fd, const uint8_t* data, size_t len, uint64_t offset);

// The system call that failed, and on which bytes.
struct SyscallFailure {
  int err = 0;
  const char* syscall = "";
  uint64_t offset = 0;
  uint64_t length = 0;
};

// RecoveryWrite -- writes `data` over [offset, offset+len) of a file (page-aligned: the kernel turns such a
// write over poison into a recovery write that clears it; an older kernel's EIO is met by punching the
// blocks out and allocating fresh ones), syncs it, and checks that the badblocks list no longer meets the
// range. False with *failure set otherwise (a range still poisoned is EIO from pwrite on that range).
bool RecoveryWrite(int fd, const SourceInfo& src, uint64_t size, uint64_t offset, const uint8_t* data, size_t len,
                   SyscallFailure* failure);

}  // namespace pmemdax
