#include "name_strings.h"

namespace pmemdax {

namespace {

// The bytes a sequence led by `lead` takes, with the range its second byte must be in (the first byte decides
// which: that is where overlong forms, surrogates and code points past U+10FFFF are refused); 0 for a byte
// that cannot lead one.
struct Lead {
  uint8_t length;
  uint8_t low;
  uint8_t high;
};

Lead LeadOf(uint8_t b) {
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

bool IsPoolName(const uint8_t* p, size_t n, bool* ascii) {
  *ascii = true;
  if (n == 0 || n > kPoolNameMax) return false;
  for (size_t i = 0; i < n;) {
    uint8_t b = p[i];
    if (b < 0x80) {
      if (b == 0) return false;
      ++i;
      continue;
    }
    *ascii = false;
    Lead lead = LeadOf(b);
    if (lead.length == 0 || n - i < lead.length) return false;
    if (p[i + 1] < lead.low || p[i + 1] > lead.high) return false;
    for (size_t k = 2; k < lead.length; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return false;
    }
    i += lead.length;
  }
  return true;
}

bool SetNameStrings(napi_env env, const uint8_t* keys, size_t count, napi_value names) {
  size_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    size_t len = keys[at] | (static_cast<size_t>(keys[at + 1]) << 8);
    const char* bytes = reinterpret_cast<const char*>(keys + at + 2);
    bool ascii = false;
    if (!IsPoolName(keys + at + 2, len, &ascii)) return false;
    napi_value name;
    // Latin-1 is the cheaper copy, and ASCII reads the same in it.
    napi_status made = ascii ? napi_create_string_latin1(env, bytes, len, &name) : napi_create_string_utf8(env, bytes, len, &name);
    if (made != napi_ok || napi_set_element(env, names, static_cast<uint32_t>(i), name) != napi_ok) return false;
    at += 2 + len;
  }
  return true;
}

}  // namespace pmemdax
