// source -- what an opened path is (device-dax, a file on an fsdax mount, or an ordinary file) and what the
// platform says about the pmem behind it, read from stat, statx and sysfs (no libndctl).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "units.h"

namespace pmemdax {

enum class SourceKind { kDevdax, kFsdax, kFile };

struct SourceInfo {
  SourceKind kind = SourceKind::kFile;
  uint64_t size = 0;          // bytes usable through the mapping
  uint64_t alignment = 0;     // required mapping alignment (devdax), 0 when free
  bool pmem = false;          // on an nvdimm namespace (real or emulated)
  bool dax_attribute = false; // statx reports STATX_ATTR_DAX for the file
  bool volatile_memory = false; // a file on tmpfs or ramfs: RAM that a reboot or power loss clears
  std::string device_name;    // "dax0.0", "pmem0", "vda", … ("" when unknown)
  std::string disk_name;      // whole disk holding a partition ("pmem0" for "pmem0p1")
  uint64_t partition_start = 0;  // bytes from the disk start to the partition start
  std::string sysfs_dev;      // /sys/dev/{char,block}/M:m, resolved
  std::string region;         // nvdimm region directory in sysfs, "" when none
  std::string persistence_domain;
  bool deep_flush = false;    // region/deep_flush exists
  int numa_node = -1;
  int64_t unsafe_shutdown = -1;  // sum of the region DIMMs' dirty_shutdown, -1 when not exposed
  blksize_t block_size = kPageSize;
  unsigned dev_major = 0;     // the character device's number (device-dax), for classifying its memory
  unsigned dev_minor = 0;
};

// ClassifySource -- fills `out` for an open fd. Returns 0 or an errno (from fstat).
int ClassifySource(int fd, SourceInfo* out);

const char* SourceKindName(SourceKind kind);

// Small sysfs helpers shared with badblocks.cpp.
bool ReadSysfsString(const std::string& path, std::string* out);
bool ReadSysfsU64(const std::string& path, uint64_t* out);
std::string RealPath(const std::string& path);

}  // namespace pmemdax
