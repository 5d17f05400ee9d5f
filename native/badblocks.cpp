#include "badblocks.h"

#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <sstream>

#include "units.h"

namespace pmemdax {

namespace {

void SortAndMerge(std::vector<ByteRange>* v) {
  std::sort(v->begin(), v->end(), [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
  std::vector<ByteRange> merged;
  for (const ByteRange& r : *v) {
    if (!merged.empty() && r.offset <= merged.back().offset + merged.back().length) {
      uint64_t end = std::max(merged.back().offset + merged.back().length, r.offset + r.length);
      merged.back().length = end - merged.back().offset;
    } else {
      merged.push_back(r);
    }
  }
  *v = std::move(merged);
}

// Keeps the parts of `bad` (relative to the list's device) that fall in [base, base+len), shifted to
// start at `to`.
void Translate(const std::vector<ByteRange>& bad, uint64_t base, uint64_t len, uint64_t to, std::vector<ByteRange>* out) {
  for (const ByteRange& r : bad) {
    uint64_t lo = std::max(r.offset, base), hi = std::min(r.offset + r.length, base + len);
    if (lo < hi) out->push_back({lo - base + to, hi - lo});
  }
}

int DevdaxBadblocks(const SourceInfo& src, std::vector<ByteRange>* out) {
  if (src.region.empty()) return 0;
  std::string text;
  if (!ReadSysfsString(src.region + "/badblocks", &text)) return 0;
  // Region lists are relative to the region start; the dax device sits at an offset inside it.
  uint64_t region_start = 0, dev_start = 0;
  if (!ReadSysfsU64(src.region + "/resource", &region_start) || !ReadSysfsU64(src.sysfs_dev + "/resource", &dev_start) ||
      dev_start < region_start) {
    // Without resource addresses (not root) the position is unknown; report nothing rather than guess.
    return text.empty() ? 0 : EACCES;
  }
  Translate(ParseBadblocks(text), dev_start - region_start, src.size, 0, out);
  return 0;
}

int FileBadblocks(int fd, const SourceInfo& src, uint64_t size, std::vector<ByteRange>* out) {
  if (!src.pmem || src.disk_name.empty()) return 0;
  std::string text;
  if (!ReadSysfsString("/sys/block/" + src.disk_name + "/badblocks", &text) || text.empty()) return 0;
  std::vector<ByteRange> bad = ParseBadblocks(text);
  // The disk list counts from the disk start; FIEMAP's physical offsets count from the partition start.
  for (ByteRange& r : bad) {
    if (r.offset + r.length <= src.partition_start) r.length = 0;
    uint64_t lo = std::max(r.offset, src.partition_start);
    r.length = r.length ? r.offset + r.length - lo : 0;
    r.offset = lo - src.partition_start;
  }

  constexpr unsigned kBatch = 256;
  size_t bytes = sizeof(struct fiemap) + kBatch * sizeof(struct fiemap_extent);
  std::unique_ptr<uint8_t[]> buf(new uint8_t[bytes]);
  auto* fm = reinterpret_cast<struct fiemap*>(buf.get());
  uint64_t start = 0;
  for (bool last = false; !last && start < size;) {
    std::fill(buf.get(), buf.get() + bytes, 0);
    fm->fm_start = start;
    fm->fm_length = size - start;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = kBatch;
    if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0) return errno;
    if (fm->fm_mapped_extents == 0) break;
    for (unsigned i = 0; i < fm->fm_mapped_extents; ++i) {
      const struct fiemap_extent& e = fm->fm_extents[i];
      Translate(bad, e.fe_physical, e.fe_length, e.fe_logical, out);
      start = e.fe_logical + e.fe_length;
      if (e.fe_flags & FIEMAP_EXTENT_LAST) last = true;
    }
  }
  // The filesystem maps whole blocks; widen each range to them, as poison is cleared a block at a time.
  uint64_t bs = static_cast<uint64_t>(src.block_size);
  for (ByteRange& r : *out) {
    uint64_t lo = r.offset / bs * bs, hi = (r.offset + r.length + bs - 1) / bs * bs;
    r.offset = lo;
    r.length = std::min(hi, size) - lo;
  }
  return 0;
}

}  // namespace

std::vector<ByteRange> ParseBadblocks(const std::string& text) {
  std::vector<ByteRange> v;
  std::istringstream in(text);
  unsigned long long sector = 0, count = 0;
  while (in >> sector >> count) {
    if (count > 0) v.push_back({sector * kSectorSize, count * kSectorSize});
  }
  return v;
}

int ReadBadblocks(int fd, const SourceInfo& src, uint64_t size, std::vector<ByteRange>* out) {
  out->clear();
  int err = src.kind == SourceKind::kDevdax ? DevdaxBadblocks(src, out) : FileBadblocks(fd, src, size, out);
  if (err != 0) return err;
  for (ByteRange& r : *out) {
    if (r.offset >= size) r.length = 0;
    else r.length = std::min(r.length, size - r.offset);
  }
  out->erase(std::remove_if(out->begin(), out->end(), [](const ByteRange& r) { return r.length == 0; }), out->end());
  SortAndMerge(out);
  return 0;
}

}  // namespace pmemdax
