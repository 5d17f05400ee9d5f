// badblocks -- the poisoned byte ranges of a source, from the kernel's sysfs lists (512-byte sectors),
// translated to the offsets the mapping uses: device offsets for devdax, file offsets for files.
#pragma once
#include <cstdint>
#include <vector>

#include "source.h"

namespace pmemdax {

struct ByteRange {
  uint64_t offset;
  uint64_t length;
};

// ReadBadblocks -- sorted, merged ranges inside [0, size). Returns 0, or an errno when the list exists
// but cannot be read (a source without a list has no known poison and returns 0 with nothing).
int ReadBadblocks(int fd, const SourceInfo& src, uint64_t size, std::vector<ByteRange>* out);

// Parses "<sector> <count>" lines into byte ranges relative to the list's device.
std::vector<ByteRange> ParseBadblocks(const std::string& text);

}  // namespace pmemdax
