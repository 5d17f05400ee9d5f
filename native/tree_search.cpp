#include "tree_search.h"

#include <cstring>

#include "crc32c.h"

namespace pmemdax {

namespace {

constexpr uint32_t kPage = 4096;
constexpr uint32_t kHeader = 16;
constexpr uint32_t kLeaf = 1;
constexpr uint32_t kBranch = 2;
constexpr uint32_t kKeyMax = 255;
constexpr uint32_t kValueMax = 1024;  // page.ts VALUE_MAX

// Every value is read through a volatile load, checked, and used as read, never loaded again after its
// check: the pages are not ours, and another process writing the file under us (a fault, or a writer that
// breaks the protocol) must not turn a check into a read past the page.
inline uint32_t U16(const uint8_t* p, uint32_t at) {
  auto v = reinterpret_cast<const volatile uint8_t*>(p);
  return v[at] | (static_cast<uint32_t>(v[at + 1]) << 8);
}

inline uint32_t U32(const uint8_t* p, uint32_t at) { return U16(p, at) | (U16(p, at + 2) << 16); }

// A page entered: its kind and cell count as read once, with the slots inside the page.
struct Page {
  const uint8_t* bytes = nullptr;
  uint32_t kind = 0;
  uint32_t count = 0;
  uint32_t Head() const { return kind == kLeaf ? 4 : 6; }
};

// The page at device offset `at`, whole inside the device and of a known kind with its slots inside it.
bool Enter(const uint8_t* base, uint64_t size, uint64_t at, Page* page) {
  if (at % kPage != 0 || at > size || size - at < kPage) return false;
  const uint8_t* p = base + at;
  // The probes of a binary search each wait for the line before them; asking for every line of the page
  // at once lets the memory fetch them side by side (a leaf not in the CPU's caches cost ~8 misses in a row).
  for (uint32_t line = 0; line < kPage; line += 64) __builtin_prefetch(p + line);
  page->bytes = p;
  page->kind = U16(p, 0);
  page->count = U16(p, 2);
  return (page->kind == kLeaf || page->kind == kBranch) && kHeader + 2 * page->count <= kPage;
}

// A cell as read once: where it starts, and where its key lies (inside the page).
struct Cell {
  uint32_t at = 0;
  uint32_t key = 0;
  uint32_t key_len = 0;
};

// Cell `i` (< page.count), or false when its head or key does not lie inside the page.
bool CellOf(const Page& page, uint32_t i, Cell* cell) {
  cell->at = U16(page.bytes, kHeader + 2 * i);
  if (cell->at + page.Head() > kPage) return false;
  cell->key_len = U16(page.bytes, cell->at);
  cell->key = cell->at + page.Head();
  return cell->key_len <= kKeyMax && cell->key + cell->key_len <= kPage;
}

// `key` against the bytes [at, at + len) of a page, as bytes: <0, 0, >0.
int Compare(const uint8_t* key, size_t key_len, const uint8_t* other, size_t len) {
  size_t common = key_len < len ? key_len : len;
  int d = common == 0 ? 0 : std::memcmp(key, other, common);
  if (d != 0) return d;
  return key_len < len ? -1 : key_len > len ? 1 : 0;
}

// page.ts's `search`: in a leaf, the index of `key` or where it would go (*exact says which, and *cell is the
// cell found); in a branch, the cell whose child covers `key`. False when a cell probed is not inside the page.
bool Search(const Page& page, const uint8_t* key, size_t key_len, uint32_t* index, bool* exact, Cell* cell) {
  int64_t lo = 0, hi = static_cast<int64_t>(page.count) - 1;
  *exact = false;
  while (lo <= hi) {
    int64_t mid = (lo + hi) / 2;
    if (!CellOf(page, static_cast<uint32_t>(mid), cell)) return false;
    int d = Compare(key, key_len, page.bytes + cell->key, cell->key_len);
    if (d == 0) {
      *index = static_cast<uint32_t>(mid);
      *exact = true;
      return true;
    }
    if (d > 0) lo = mid + 1;
    else hi = mid - 1;
  }
  *index = page.kind == kLeaf ? static_cast<uint32_t>(lo) : static_cast<uint32_t>(lo > 0 ? lo - 1 : 0);
  return true;
}

// A branch cell's child block as a device offset, or false when there is no such cell inside the page.
bool ChildAt(const Page& page, uint32_t i, uint64_t* at) {
  if (i >= page.count) return false;
  uint32_t c = U16(page.bytes, kHeader + 2 * i);
  if (c + 6 > kPage) return false;
  *at = static_cast<uint64_t>(U32(page.bytes, c + 2)) * kPage;
  return true;
}

}  // namespace

int TreeSearch(const uint8_t* base, uint64_t size, uint64_t root, const uint8_t* key, size_t key_len, uint8_t* value,
               size_t value_room, uint32_t* visited, size_t* pages) {
  *pages = 0;
  for (uint64_t at = root;;) {
    Page page;
    if (*pages == kTreeSearchMaxPages || !Enter(base, size, at, &page)) return kTreeCannotSay;
    visited[(*pages)++] = static_cast<uint32_t>(at / kPage);
    uint32_t i = 0;
    bool exact = false;
    Cell cell;
    if (!Search(page, key, key_len, &i, &exact, &cell)) return kTreeCannotSay;
    if (page.kind == kBranch) {
      if (!ChildAt(page, i, &at)) return kTreeCannotSay;
      continue;
    }
    if (!exact) return kTreeKeyAbsent;
    // The cell's 4-byte head and its key lie inside the page (CellOf); the value follows the key.
    uint32_t vlen = U16(page.bytes, cell.at + 2), v = cell.key + cell.key_len;
    if (v + vlen > kPage || vlen > value_room) return kTreeCannotSay;
    std::memcpy(value, page.bytes + v, vlen);
    return static_cast<int>(vlen);
  }
}

int TreeScan(const uint8_t* base, uint64_t size, uint64_t root, const TreeScanRange& range, uint8_t* out, size_t out_room,
             uint32_t* visited, size_t* pages) {
  struct Step {
    Page page;
    uint32_t index;
  };
  Step path[kTreeSearchMaxPages];
  size_t depth = 0, count = 0, used = 0;
  *pages = 0;
  // Visits the page at `at`, pushed on the path; false when it cannot.
  auto enter = [&](uint64_t at) {
    if (depth == kTreeSearchMaxPages || *pages == kTreeScanMaxPages) return false;
    Step& step = path[depth];
    if (!Enter(base, size, at, &step.page)) return false;
    step.index = 0;
    visited[(*pages)++] = static_cast<uint32_t>(at / kPage);
    depth++;
    return true;
  };
  // Down from the root to the leaf where `start` would be.
  for (uint64_t at = root;;) {
    if (!enter(at)) return kTreeCannotSay;
    Step& step = path[depth - 1];
    bool exact = false;
    Cell cell;
    if (!Search(step.page, range.start, range.start_len, &step.index, &exact, &cell)) return kTreeCannotSay;
    if (step.page.kind == kLeaf) break;
    if (!ChildAt(step.page, step.index, &at)) return kTreeCannotSay;
  }
  // The last key copied, to hold the keys to strictly increasing order: a damaged tree whose keys go back
  // (a child pointing at a page the scan has passed) must not make a listing go round for ever.
  const uint8_t* last = range.start;
  size_t last_len = range.start_len;
  for (;;) {
    Step& leaf = path[depth - 1];
    if (leaf.index < leaf.page.count) {
      Cell cell;
      if (!CellOf(leaf.page, leaf.index, &cell)) return kTreeCannotSay;
      leaf.index++;
      const uint8_t* key = leaf.page.bytes + cell.key;
      int d = Compare(key, cell.key_len, last, last_len);
      if (count == 0 && d == 0 && range.skip_start) continue;  // the `after` key itself
      if (count == 0 ? d < 0 : d <= 0) return kTreeCannotSay;
      if (cell.key_len < range.prefix_len || std::memcmp(key, range.prefix, range.prefix_len) != 0) {
        return static_cast<int>(2 * count + 1);
      }
      if (count == range.limit || used + 2 + cell.key_len > out_room) return count > 0 ? static_cast<int>(2 * count) : kTreeCannotSay;
      out[used] = static_cast<uint8_t>(cell.key_len);
      out[used + 1] = static_cast<uint8_t>(cell.key_len >> 8);
      // The copy is what the caller sees and what the next key is held against.
      std::memcpy(out + used + 2, key, cell.key_len);
      last = out + used + 2;
      last_len = cell.key_len;
      used += 2 + cell.key_len;
      count++;
      continue;
    }
    // This leaf is done: up to the nearest branch with a child left, then down its leftmost path.
    --depth;
    while (depth > 0 && path[depth - 1].index + 1 >= path[depth - 1].page.count) --depth;
    if (depth == 0) return static_cast<int>(2 * count + 1);
    Step& up = path[depth - 1];
    up.index++;
    uint64_t at = 0;
    if (!ChildAt(up.page, up.index, &at)) return kTreeCannotSay;
    for (;;) {
      // Out of room for pages: stop at the keys copied so far, if any (the caller goes on from the last).
      if (*pages == kTreeScanMaxPages) return count > 0 ? static_cast<int>(2 * count) : kTreeCannotSay;
      if (!enter(at)) return kTreeCannotSay;
      const Step& step = path[depth - 1];
      if (step.page.kind == kLeaf) break;
      if (!ChildAt(step.page, 0, &at)) return kTreeCannotSay;
    }
  }
}

bool TreePageWhole(const uint8_t* base, uint64_t size, uint64_t at) {
  if (at % kPage != 0 || at > size || size - at < kPage) return false;
  uint8_t p[kPage];
  std::memcpy(p, base + at, kPage);
  uint32_t stored = U32(p, 8);
  std::memset(p + 8, 0, 4);
  if (Crc32c(p, kPage) != stored) return false;
  uint32_t kind = U16(p, 0), n = U16(p, 2), start = U16(p, 4);
  if ((kind != kLeaf && kind != kBranch) || kHeader + 2 * n > start || start > kPage) return false;
  uint32_t head = kind == kLeaf ? 4 : 6, live = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t c = U16(p, kHeader + 2 * i);
    if (c < start || c + head > kPage) return false;
    uint32_t key_len = U16(p, c), value_len = kind == kLeaf ? U16(p, c + 2) : 0;
    if (key_len > kKeyMax || value_len > kValueMax) return false;
    uint32_t len = head + key_len + value_len;
    if (c + len > kPage) return false;
    live += len;
  }
  return live + U16(p, 6) == kPage - start;
}

}  // namespace pmemdax
