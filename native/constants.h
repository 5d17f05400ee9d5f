// constants -- the numbers the native calls take and return, exported by name so that the TypeScript layer
// reads them from the addon (lib/native.ts) instead of repeating them.
#pragma once
#include <napi.h>

namespace pmemdax {

// ExportConstants -- sets `exports.constants` to frozen tables: `access` (region page access), `copy`
// (the flag bits of copy, move and fill) and `deepFlush` (its results).
void ExportConstants(Napi::Env env, Napi::Object exports);

}  // namespace pmemdax
