// deep_flush_linux -- draining the memory controller's write-pending queues of an nvdimm region through its
// sysfs deep_flush control (Linux; the region directory comes from source.cpp).
#pragma once
#include <string>

#include "source.h"

namespace pmemdax {

// The values are what NativeDevice.deepFlush returns to JavaScript.
enum class DeepFlushResult {
  kDone = 0,          // the region's queues were drained
  kNotNeeded = 1,     // the region has no deep_flush control: nothing past the caches to drain
  kNotPermitted = 2,  // the control exists but this process may not write it
  kFailed = 3,        // opening or writing the control failed otherwise (see DeepFlushFailure)
};

struct DeepFlushFailure {
  int err = 0;
  const char* syscall = "";
  std::string control;  // the sysfs file
};

DeepFlushResult DeepFlushRegion(const SourceInfo& src, DeepFlushFailure* failure);

}  // namespace pmemdax
