#include "constants.h"

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "memcpy_nt.h"
#include "region.h"

namespace pmemdax {

namespace {

Napi::Object Table(Napi::Env env, std::initializer_list<std::pair<const char*, uint32_t>> entries) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [name, value] : entries) o.Set(name, value);
  o.Freeze();
  return o;
}

}  // namespace

void ExportConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("access", Table(env, {
                                 {"NONE", kAccessNone},
                                 {"READ", kAccessRead},
                                 {"READ_WRITE", kAccessReadWrite},
                                 {"TRAP_WRITE", kAccessTrapWrite},
                                 {"PRIVATE_TRAP_WRITE", kAccessPrivateTrap},
                             }));
  c.Set("copy", Table(env, {
                               {"NODRAIN", kNoDrain},
                               {"NOFLUSH", kNoFlush},
                               {"NONTEMPORAL", kNonTemporal},
                               {"TEMPORAL", kTemporal},
                           }));
  c.Set("deepFlush", Table(env, {
                                    {"DONE", kDeepFlushDone},
                                    {"NOT_NEEDED", kDeepFlushNotNeeded},
                                    {"NOT_PERMITTED", kDeepFlushNotPermitted},
                                }));
  c.Freeze();
  exports.Set("constants", c);
}

}  // namespace pmemdax
