#include "args.h"

namespace pmemdax {

bool ViewBytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  // The typed-array query comes first and alone: it is the common case and fails cheaply for anything else.
  napi_typedarray_type type;
  size_t count = 0, offset = 0;
  void* p = nullptr;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &count, &p, &ab, &offset) == napi_ok) {
    // Element sizes by napi_typedarray_type; a kind this table does not know is refused rather than
    // guessed, since a wrong size would copy past the view.
    static const size_t kElem[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    if (static_cast<size_t>(type) >= sizeof kElem / sizeof kElem[0]) return false;
    *data = static_cast<uint8_t*>(p);
    *len = count * kElem[type];
    return true;
  }
  bool is = false;
  if (napi_is_dataview(env, v, &is) != napi_ok || !is) return false;
  if (napi_get_dataview_info(env, v, len, &p, &ab, &offset) != napi_ok) return false;
  *data = static_cast<uint8_t*>(p);
  return true;
}

}  // namespace pmemdax
