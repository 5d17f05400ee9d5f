// journal_record -- the journal record's layout as native code reads it (lib/pool/journal.ts writes it;
// docs/format.md, "Journal records"): one place for journal_scan and journal_touches.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pmemdax {
namespace journal {

// The header: magic, checksum of the bytes after it, epoch, number, length of the operations, their count;
// records start on cache lines.
constexpr size_t kHeader = 32;
constexpr size_t kAlign = 64;
constexpr uint32_t kMagic = 0x4345524a;  // "JREC"

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian on every target this addon builds for
  return v;
}

// A journal offset or count from JavaScript: an integer from 0 to 2^53 - 1.
inline bool IsIndex(double v) { return v >= 0 && v <= 9007199254740991.0 && std::floor(v) == v; }

}  // namespace journal
}  // namespace pmemdax
