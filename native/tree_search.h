// tree_search -- a lookup in the pool's metadata B+tree (format 2, lib/pool/meta/page.ts) where its pages lie
// in the mapping: no page is copied, and a lookup costs one call instead of a copy and a search per level.
#pragma once
#include <cstddef>
#include <cstdint>

namespace pmemdax {

// The most pages a search visits: the pool's tree depth limit (32 branch levels) and the leaf.
constexpr size_t kTreeSearchMaxPages = 33;

// What a search found, besides the blocks it visited.
enum TreeSearchResult : int {
  kTreeKeyAbsent = -1,
  // The pages do not read as well-formed (a cell outside its page, an unknown kind, a child outside the
  // device, a path too deep, a value larger than the room for it): the caller reads them the checked way.
  kTreeCannotSay = -2,
};

// The pages are read where they lie, each value checked and then used as read: pages that change during a call (only a writer breaking
// the pool's protocol changes a committed page) give a wrong answer or kTreeCannotSay, never a read outside
// the page.
//
// Searches the tree whose root page is at `root` (a page-aligned offset with a whole page inside [0, size))
// for `key`. Returns the value's length (the value copied into `value`), or a TreeSearchResult. The blocks
// visited, root first, go to `visited[0..*pages)`. Plain loads only: run it guarded where the mapping may
// raise SIGBUS.
int TreeSearch(const uint8_t* base, uint64_t size, uint64_t root, const uint8_t* key, size_t key_len, uint8_t* value,
               size_t value_room, uint32_t* visited, size_t* pages);

// The most pages a scan visits in one call: it stops early, at a key, when it would visit more.
constexpr size_t kTreeScanMaxPages = 256;

// What a scan asks for: keys from `start` on (past it when `skip_start`), while they begin with `prefix`,
// at most `limit` of them.
struct TreeScanRange {
  const uint8_t* start;
  size_t start_len;
  bool skip_start;
  const uint8_t* prefix;
  size_t prefix_len;
  size_t limit;
};

// Copies the keys of the tree at `root` in `range`, in order, into `out` as a u16 length and the key's bytes
// each. Returns the count of keys, times two, plus one when the range has no keys past the last one copied;
// or kTreeCannotSay, also for keys that do not rise (a damaged tree going back over itself), so that a caller
// going on from the last key always moves on. The blocks visited go to `visited[0..*pages)`. Plain loads only,
// as TreeSearch.
int TreeScan(const uint8_t* base, uint64_t size, uint64_t root, const TreeScanRange& range, uint8_t* out, size_t out_room,
             uint32_t* visited, size_t* pages);

// Whether the page at `at` is whole inside the device and as a checkpoint wrote it: its CRC-32C right (taken
// with the CRC field as zero), a known kind, every slot and cell inside it and the bytes counted as
// page.ts's `pageProblem(p, false)` counts them. Works on a copy, so the checks hold together. False also for
// anything page.ts would accept only after the page changed: the caller reads it the checked way then.
bool TreePageWhole(const uint8_t* base, uint64_t size, uint64_t at);

}  // namespace pmemdax
