// name_strings -- the names tree's keys as JavaScript strings, made by the addon, so that a listing runs no
// JavaScript per name (decoding each key in JavaScript was a third of a process's first listing).
#pragma once
#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace pmemdax {

// The longest pool name, in bytes (NAME_MAX of lib/pool/layout.ts).
constexpr size_t kPoolNameMax = 255;

// Whether the `n` bytes at `p` are a pool name: 1 to kPoolNameMax bytes, no NUL, and UTF-8 as a fatal
// decoder accepts it (no overlong form, surrogate, code point past U+10FFFF or cut sequence). `ascii` tells
// whether every byte is below 0x80.
bool IsPoolName(const uint8_t* p, size_t n, bool* ascii);

// Sets the `count` keys at `keys` (a u16 length and the bytes each, as TreeScan writes them) as strings at
// 0..count-1 of the array `names`. False, setting none past the first bad one, when a key is not a pool name
// (the caller reads the pages the checked way, which reports the damage) or when N-API fails.
bool SetNameStrings(napi_env env, const uint8_t* keys, size_t count, napi_value names);

}  // namespace pmemdax
