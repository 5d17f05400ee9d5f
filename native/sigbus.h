// sigbus -- copies out of a mapping that survive a machine-check SIGBUS on poisoned media.
#pragma once
#include <cstddef>

namespace pmemdax {

// InstallSigbusHandler -- installs (once per process) a SIGBUS handler that recovers copies made by
// SafeCopy on this thread and hands every other SIGBUS to the handler that was there before.
void InstallSigbusHandler();

// SafeCopy -- memcpy(dst, src, len); returns 0, or EIO with *fault set to the offset from `src` of the start
// of the page that raised SIGBUS (0 if that page holds `src`). Every page before it has been copied.
int SafeCopy(void* dst, const void* src, size_t len, size_t* fault);

}  // namespace pmemdax
