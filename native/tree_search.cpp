#include "tree_search.h"

#include <cstring>

namespace pmemdax {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint32_t kHeader = 16;
constexpr uint16_t kLeaf = 1;
constexpr uint16_t kBranch = 2;

inline uint32_t U16(const uint8_t* p, uint32_t at) { return p[at] | (static_cast<uint32_t>(p[at + 1]) << 8); }

inline uint32_t U32(const uint8_t* p, uint32_t at) { return U16(p, at) | (U16(p, at + 2) << 16); }

// Where cell `i`'s key starts and how long it is, or false when the cell does not lie inside the page.
inline bool KeyOf(const uint8_t* p, uint32_t i, uint32_t head, uint32_t* at, uint32_t* len) {
  uint32_t c = U16(p, kHeader + 2 * i);
  if (c + head > kPage) return false;
  *len = U16(p, c);
  *at = c + head;
  return *at + *len <= kPage;
}

// The page at `at`, whole inside the device and of a known kind with its slots inside it; null otherwise.
const uint8_t* PageAt(const uint8_t* base, uint64_t size, uint64_t at) {
  if (at % kPage != 0 || at + kPage > size) return nullptr;
  const uint8_t* p = base + at;
  // The probes of a binary search each wait for the line before them; asking for every line of the page
  // at once lets the memory fetch them side by side (a leaf not in the CPU's caches cost ~8 misses in a row).
  for (uint64_t line = 0; line < kPage; line += 64) __builtin_prefetch(p + line);
  uint32_t kind = U16(p, 0);
  if ((kind != kLeaf && kind != kBranch) || kHeader + 2 * U16(p, 2) > kPage) return nullptr;
  return p;
}

inline uint32_t HeadOf(const uint8_t* p) { return U16(p, 0) == kLeaf ? 4 : 6; }

// A branch cell's child block as a device offset, or false when there is no such cell inside the page.
inline bool ChildAt(const uint8_t* p, uint32_t i, uint64_t* at) {
  if (i >= U16(p, 2)) return false;
  uint32_t c = U16(p, kHeader + 2 * i);
  if (c + 6 > kPage) return false;
  *at = static_cast<uint64_t>(U32(p, c + 2)) * kPage;
  return true;
}

// Compares `key` with cell `i`'s key as bytes: <0, 0, >0; false when the cell does not lie inside the page.
inline bool CompareAt(const uint8_t* p, uint32_t i, const uint8_t* key, size_t key_len, int* d) {
  uint32_t k = 0, len = 0;
  if (!KeyOf(p, i, HeadOf(p), &k, &len)) return false;
  size_t common = key_len < len ? key_len : len;
  *d = common == 0 ? 0 : std::memcmp(key, p + k, common);
  if (*d == 0) *d = key_len < len ? -1 : key_len > len ? 1 : 0;
  return true;
}

// page.ts's `search`: in a leaf, the index of `key` or where it would go (*exact says which); in a branch,
// the cell whose child covers `key`. False when a cell probed does not lie inside the page.
bool Search(const uint8_t* p, const uint8_t* key, size_t key_len, uint32_t* index, bool* exact) {
  int64_t lo = 0, hi = static_cast<int64_t>(U16(p, 2)) - 1;
  *exact = false;
  while (lo <= hi) {
    int64_t mid = (lo + hi) / 2;
    int d = 0;
    if (!CompareAt(p, static_cast<uint32_t>(mid), key, key_len, &d)) return false;
    if (d == 0) {
      *index = static_cast<uint32_t>(mid);
      *exact = true;
      return true;
    }
    if (d > 0) lo = mid + 1;
    else hi = mid - 1;
  }
  *index = U16(p, 0) == kLeaf ? static_cast<uint32_t>(lo) : static_cast<uint32_t>(lo > 0 ? lo - 1 : 0);
  return true;
}

}  // namespace

int TreeScan(const uint8_t* base, uint64_t size, uint64_t root, const TreeScanRange& range, uint8_t* out, size_t out_room,
             uint32_t* visited, size_t* pages) {
  struct Step {
    const uint8_t* page;
    uint32_t index;
  };
  Step path[kTreeSearchMaxPages];
  size_t depth = 0, count = 0, used = 0;
  *pages = 0;
  // Visits the page at `at`, pushed on the path at cell `index`; false when it cannot.
  auto enter = [&](uint64_t at) -> const uint8_t* {
    if (depth == kTreeSearchMaxPages || *pages == kTreeScanMaxPages) return nullptr;
    const uint8_t* p = PageAt(base, size, at);
    if (p == nullptr) return nullptr;
    visited[(*pages)++] = static_cast<uint32_t>(at / kPage);
    path[depth++] = Step{p, 0};
    return p;
  };
  // Down from the root to the leaf where `start` would be.
  for (uint64_t at = root;;) {
    const uint8_t* p = enter(at);
    if (p == nullptr) return kTreeCannotSay;
    bool exact = false;
    if (!Search(p, range.start, range.start_len, &path[depth - 1].index, &exact)) return kTreeCannotSay;
    if (U16(p, 0) == kLeaf) break;
    if (!ChildAt(p, path[depth - 1].index, &at)) return kTreeCannotSay;
  }
  for (;;) {
    Step& leaf = path[depth - 1];
    const uint8_t* p = leaf.page;
    if (leaf.index < U16(p, 2)) {
      uint32_t k = 0, len = 0;
      if (!KeyOf(p, leaf.index, 4, &k, &len)) return kTreeCannotSay;
      leaf.index++;
      const uint8_t* key = p + k;
      if (range.skip_start && len == range.start_len && std::memcmp(key, range.start, len) == 0) continue;
      if (len < range.prefix_len || (range.prefix_len > 0 && std::memcmp(key, range.prefix, range.prefix_len) != 0)) {
        return static_cast<int>(2 * count + 1);
      }
      if (count == range.limit || used + 2 + len > out_room) return static_cast<int>(2 * count);
      out[used] = static_cast<uint8_t>(len);
      out[used + 1] = static_cast<uint8_t>(len >> 8);
      std::memcpy(out + used + 2, key, len);
      used += 2 + len;
      count++;
      continue;
    }
    // This leaf is done: up to the nearest branch with a child left, then down its leftmost path.
    --depth;
    while (depth > 0 && path[depth - 1].index + 1 >= U16(path[depth - 1].page, 2)) --depth;
    if (depth == 0) return static_cast<int>(2 * count + 1);
    Step& up = path[depth - 1];
    up.index++;
    uint64_t at = 0;
    if (!ChildAt(up.page, up.index, &at)) return kTreeCannotSay;
    for (;;) {
      // Out of room for pages: stop at the keys copied so far, if any (the caller goes on from the last).
      if (*pages == kTreeScanMaxPages) return count > 0 ? static_cast<int>(2 * count) : kTreeCannotSay;
      const uint8_t* c = enter(at);
      if (c == nullptr) return kTreeCannotSay;
      if (U16(c, 0) == kLeaf) break;
      if (!ChildAt(c, 0, &at)) return kTreeCannotSay;
    }
  }
}

int TreeSearch(const uint8_t* base, uint64_t size, uint64_t root, const uint8_t* key, size_t key_len, uint8_t* value,
               size_t value_room, uint32_t* visited, size_t* pages) {
  *pages = 0;
  for (uint64_t at = root;;) {
    const uint8_t* p = *pages == kTreeSearchMaxPages ? nullptr : PageAt(base, size, at);
    if (p == nullptr) return kTreeCannotSay;
    visited[(*pages)++] = static_cast<uint32_t>(at / kPage);
    uint32_t i = 0;
    bool exact = false;
    if (!Search(p, key, key_len, &i, &exact)) return kTreeCannotSay;
    if (U16(p, 0) == kBranch) {
      if (!ChildAt(p, i, &at)) return kTreeCannotSay;
      continue;
    }
    if (!exact) return kTreeKeyAbsent;
    // Search checked that the cell's head and key lie inside the page.
    uint32_t c = U16(p, kHeader + 2 * i);
    uint32_t vlen = U16(p, c + 2), v = c + 4 + U16(p, c);
    if (v + vlen > kPage || vlen > value_room) return kTreeCannotSay;
    std::memcpy(value, p + v, vlen);
    return static_cast<int>(vlen);
  }
}

}  // namespace pmemdax
