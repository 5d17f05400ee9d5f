#include "flush.h"

namespace pmemdax {

FlushKind PickFlush(const CpuFeatures& cpu) {
  if (cpu.clwb) return FlushKind::kClwb;
  if (cpu.clflushopt) return FlushKind::kClflushopt;
  return FlushKind::kClflush;
}

FlushFn FlushFunction(FlushKind kind) {
  switch (kind) {
    case FlushKind::kClwb: return FlushClwb;
    case FlushKind::kClflushopt: return FlushClflushopt;
    case FlushKind::kClflush: break;
  }
  return FlushClflush;
}

const char* FlushName(FlushKind kind) {
  switch (kind) {
    case FlushKind::kClwb: return "clwb";
    case FlushKind::kClflushopt: return "clflushopt";
    case FlushKind::kClflush: break;
  }
  return "clflush";
}

}  // namespace pmemdax
