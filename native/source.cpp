#include "source.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pmemdax {

bool ReadSysfsString(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  *out = s;
  return true;
}

bool ReadSysfsU64(const std::string& path, uint64_t* out) {
  std::string s;
  if (!ReadSysfsString(path, &s) || s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end == s.c_str()) return false;
  *out = v;
  return true;
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return "";
  return buf;
}

const char* SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kDevdax: return "devdax";
    case SourceKind::kFsdax: return "fsdax";
    case SourceKind::kFile: break;
  }
  return "file";
}

namespace {

std::string Basename(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string Dirname(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : p.substr(0, slash);
}

bool Exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

// The nvdimm region is an ancestor of the namespace, block or dax device in sysfs; it is the one that
// carries a persistence_domain attribute (or, on older kernels, is a regionN right under an ndbusN). A CXL
// regionN (under a root decoder, with a `mode`) is not one: CXL RAM is no pmem.
std::string FindRegion(const std::string& start) {
  for (std::string dir = start; dir.size() > 1; dir = Dirname(dir)) {
    if (Exists(dir + "/persistence_domain")) return dir;
    std::string base = Basename(dir);
    bool region = base.rfind("region", 0) == 0 && base.size() > 6 && isdigit(static_cast<unsigned char>(base[6]));
    if (region && Basename(Dirname(dir)).rfind("ndbus", 0) == 0) return dir;
  }
  return "";
}

// Dirty-shutdown counts live on the DIMMs (nmemN) that back a region: region/mappingK = "nmemN,…".
int64_t UnsafeShutdownCount(const std::string& region) {
  int64_t total = -1;
  for (int k = 0;; ++k) {
    std::string mapping;
    if (!ReadSysfsString(region + "/mapping" + std::to_string(k), &mapping)) break;
    std::string nmem = mapping.substr(0, mapping.find(','));
    uint64_t count = 0;
    if (ReadSysfsU64("/sys/bus/nd/devices/" + nmem + "/nfit/dirty_shutdown", &count)) {
      total = (total < 0 ? 0 : total) + static_cast<int64_t>(count);
    }
  }
  return total;
}

void FillRegion(SourceInfo* out) {
  if (out->region.empty()) return;
  out->pmem = true;
  ReadSysfsString(out->region + "/persistence_domain", &out->persistence_domain);
  out->deep_flush = Exists(out->region + "/deep_flush");
  uint64_t numa = 0;
  if (out->numa_node < 0 && ReadSysfsU64(out->region + "/numa_node", &numa)) out->numa_node = static_cast<int>(numa);
  out->unsafe_shutdown = UnsafeShutdownCount(out->region);
}

void ClassifyCharDevice(const struct stat& st, SourceInfo* out) {
  std::string dev = "/sys/dev/char/" + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  if (Basename(RealPath(dev + "/subsystem")) != "dax") return;
  out->kind = SourceKind::kDevdax;
  out->dev_major = major(st.st_rdev);
  out->dev_minor = minor(st.st_rdev);
  out->sysfs_dev = RealPath(dev);
  out->device_name = Basename(out->sysfs_dev);
  ReadSysfsU64(dev + "/size", &out->size);
  // Kernels before 5.x have no align attribute; device-dax then faults at 2 MiB.
  if (!ReadSysfsU64(dev + "/align", &out->alignment)) out->alignment = kPmdSize;
  uint64_t numa = 0;
  if (ReadSysfsU64(dev + "/numa_node", &numa) || ReadSysfsU64(dev + "/device/numa_node", &numa)) {
    out->numa_node = static_cast<int>(numa);
  }
  out->region = FindRegion(out->sysfs_dev);
  FillRegion(out);
}

void ClassifyRegularFile(int fd, const struct stat& st, SourceInfo* out) {
  out->size = static_cast<uint64_t>(st.st_size);
  out->block_size = st.st_blksize;
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0 && (sx.stx_attributes_mask & STATX_ATTR_DAX)) {
    out->dax_attribute = (sx.stx_attributes & STATX_ATTR_DAX) != 0;
  }
  // Kernel magic numbers (linux/magic.h); tmpfs and ramfs keep their files in RAM only.
  constexpr unsigned long kTmpfsMagic = 0x01021994;
  constexpr unsigned long kRamfsMagic = 0x858458f6;
  struct statfs fs;
  if (fstatfs(fd, &fs) == 0) {
    auto type = static_cast<unsigned long>(fs.f_type);
    out->volatile_memory = type == kTmpfsMagic || type == kRamfsMagic;
  }
  if (major(st.st_dev) == 0) return;  // tmpfs, overlay and other filesystems without a block device
  std::string dev = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  out->sysfs_dev = RealPath(dev);
  out->device_name = Basename(out->sysfs_dev);
  out->disk_name = out->device_name;
  uint64_t start_sectors = 0;
  if (ReadSysfsU64(dev + "/start", &start_sectors)) {  // a partition: its disk is the parent directory
    out->partition_start = start_sectors * kSectorSize;
    out->disk_name = Basename(Dirname(out->sysfs_dev));
  }
  if (out->disk_name.rfind("pmem", 0) == 0) {
    out->region = FindRegion(out->sysfs_dev);
    FillRegion(out);
    out->pmem = true;
  }
  if (out->dax_attribute) out->kind = SourceKind::kFsdax;
}

}  // namespace

int ClassifySource(int fd, SourceInfo* out) {
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  if (S_ISCHR(st.st_mode)) {
    ClassifyCharDevice(st, out);
    if (out->kind != SourceKind::kDevdax) return ENODEV;
  } else if (S_ISREG(st.st_mode)) {
    ClassifyRegularFile(fd, st, out);
  } else if (S_ISDIR(st.st_mode)) {
    return EISDIR;
  } else {
    return ENODEV;
  }
  return 0;
}

}  // namespace pmemdax
