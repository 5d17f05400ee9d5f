// addon -- module entry: the Device and Region classes, the constants their calls use, and the
// process-wide facts the TypeScript layer reports.
#include <napi.h>

#include "constants.h"
#include "cpu.h"
#include "crc32c.h"
#include "device.h"
#include "errors.h"
#include "flush.h"
#include "journal_scan.h"
#include "journal_touches.h"
#include "io_pool.h"
#include "memcpy_nt.h"
#include "region.h"

namespace pmemdax {

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuFeatures& hw = DetectCpu();
  CpuFeatures eff = EffectiveCpu();
  Napi::Object o = Napi::Object::New(env);
  o.Set("clflush", hw.clflush);
  o.Set("clflushopt", hw.clflushopt);
  o.Set("clwb", hw.clwb);
  o.Set("avx2", hw.avx2);
  o.Set("avx512f", hw.avx512f);
  o.Set("sse42", hw.sse42);
  o.Set("flush", FlushName(PickFlush(eff)));
  o.Set("copyKernel", PickNtKernel(eff).name);
  o.Set("crc32c", Crc32cName());
  return o;
}

}  // namespace pmemdax

static Napi::Object InitPmemdax(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeDevice", pmemdax::Device::Init(env));
  exports.Set("NativeRegion", pmemdax::Region::Init(env));
  exports.Set("cpuInfo", Napi::Function::New(env, pmemdax::CpuInfo, "cpuInfo"));
  exports.Set("crc32c", Napi::Function::New(env, pmemdax::Crc32cJs, "crc32c"));
  exports.Set("journalScan", Napi::Function::New(env, pmemdax::JournalScanJs, "journalScan"));
  exports.Set("journalTouches", Napi::Function::New(env, pmemdax::JournalTouchesJs, "journalTouches"));
  exports.Set("setErrorClasses", Napi::Function::New(env, pmemdax::SetErrorClasses, "setErrorClasses"));
  pmemdax::ExportConstants(env, exports);
  pmemdax::InitIoEnv(env);
  return exports;
}

NODE_API_MODULE(pmemdax, InitPmemdax)
