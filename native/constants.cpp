#include "constants.h"

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "deep_flush_linux.h"
#include "file_lock.h"
#include "memcpy_nt.h"
#include "name_strings.h"
#include "region.h"
#include "tree_search.h"

namespace pmemdax {

namespace {

Napi::Object Table(Napi::Env env, std::initializer_list<std::pair<const char*, double>> entries) {
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
                                    {"DONE", static_cast<uint32_t>(DeepFlushResult::kDone)},
                                    {"NOT_NEEDED", static_cast<uint32_t>(DeepFlushResult::kNotNeeded)},
                                    {"NOT_PERMITTED", static_cast<uint32_t>(DeepFlushResult::kNotPermitted)},
                                }));
  c.Set("lock", Table(env, {
                               {"NONE", static_cast<uint32_t>(LockMode::kNone)},
                               {"SHARED", static_cast<uint32_t>(LockMode::kShared)},
                               {"EXCLUSIVE", static_cast<uint32_t>(LockMode::kExclusive)},
                           }));
  c.Set("tree", Table(env, {
                               {"CANNOT_SAY", kTreeCannotSay},
                               {"SCAN_PAGES", static_cast<double>(kTreeScanMaxPages)},
                               {"NAME_MAX", static_cast<double>(kPoolNameMax)},
                           }));
  c.Freeze();
  exports.Set("constants", c);
}

}  // namespace pmemdax
