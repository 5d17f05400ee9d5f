#include "persist.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cpu.h"
#include "io_pool.h"
#include "recovery_write.h"
#include "units.h"

namespace pmemdax {

namespace {

// ---- Write-back ----

int FlushNothing(PersistState&, uint64_t, uint64_t, MappingFault*) { return 0; }

int FlushLines(PersistState& s, uint64_t offset, uint64_t len, MappingFault* fault) {
  ++s.stats.flush_calls;
  return GuardedFlush(s.policy.flush, s.map, offset, len, &s.stats.flushed_lines, fault) ? 0 : -1;
}

// msync reports write-back failure, and that failure is the caller's to see.
int FlushPages(PersistState& s, uint64_t offset, uint64_t len, MappingFault*) {
  Drain();  // non-temporal stores must be visible before the kernel writes the pages back
  if (len == 0) return 0;
  ++s.stats.msyncs;
  return MsyncPages(s.map.base, offset, len);
}

void DrainNothing(PersistState&) {}

void DrainFence(PersistState& s) {
  Drain();
  ++s.stats.drains;
}

// ---- Stores ----

int CopyByStores(PersistState& s, uint64_t offset, const uint8_t* src, size_t len, uint32_t flags, MappingFault* fault) {
  return GuardedCopy(s.policy, s.map, offset, src, len, flags, &s.stats.flushed_lines, fault) ? 0 : -1;
}

int FillByStores(PersistState& s, uint64_t offset, uint8_t value, size_t len, uint32_t flags, MappingFault* fault) {
  return GuardedFill(s.policy, s.map, offset, value, len, flags, &s.stats.flushed_lines, fault) ? 0 : -1;
}

// A store to a page that write-back has cleaned faults first (page_mkwrite: a filesystem transaction on
// ext4), so on page granularity each durable store would pay a fault and an msync; pwrite fills the page
// cache without the fault (4 KiB durable write on an ext4 disk: ~0.15 ms against 0.5-2.6 ms).
int CopyByPwrite(PersistState& s, uint64_t offset, const uint8_t* src, size_t len, uint32_t, MappingFault*) {
  return PwriteAll(s.fd, src, len, offset);
}

int FillByPwrite(PersistState& s, uint64_t offset, uint8_t value, size_t len, uint32_t, MappingFault*) {
  static thread_local uint8_t chunk[64 * 1024];
  std::memset(chunk, value, len < sizeof chunk ? len : sizeof chunk);
  for (size_t done = 0; done < len;) {
    size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
    if (int err = PwriteAll(s.fd, chunk, n, offset + done)) return err;
    done += n;
  }
  return 0;
}

struct GranularityOps {
  Granularity granularity;
  const char* name;
  decltype(PersistFns::flush) flush;
  decltype(PersistFns::drain) drain;
  uint32_t store_flags;
};

// By Granularity's value.
constexpr GranularityOps kGranularities[] = {
    {Granularity::kByte, "byte", FlushNothing, DrainFence, 0},
    {Granularity::kCacheline, "cacheline", FlushLines, DrainFence, 0},
    {Granularity::kPage, "page", FlushPages, DrainNothing, kNoFlush},
};

static_assert(kGranularities[static_cast<int>(Granularity::kByte)].granularity == Granularity::kByte &&
                  kGranularities[static_cast<int>(Granularity::kCacheline)].granularity == Granularity::kCacheline &&
                  kGranularities[static_cast<int>(Granularity::kPage)].granularity == Granularity::kPage,
              "kGranularities is indexed by Granularity");

const GranularityOps& OpsOf(Granularity g) { return kGranularities[static_cast<int>(g)]; }

}  // namespace

int MsyncPages(uint8_t* base, uint64_t offset, uint64_t len) {
  uint64_t start = PageStart(offset);
  return msync(base + start, offset + len - start, MS_SYNC) == 0 ? 0 : errno;
}

bool Persistence::ReadOverride(PersistOverride* out, std::string* message) {
  const char* value = std::getenv("PMEMDAX_FORCE_GRANULARITY");
  if (value == nullptr || *value == '\0') return true;
  for (const GranularityOps& ops : kGranularities) {
    if (std::strcmp(value, ops.name) == 0) {
      *out = PersistOverride{true, ops.granularity};
      return true;
    }
  }
  *message = std::string("PMEMDAX_FORCE_GRANULARITY must be byte, cacheline or page, not '") + value + "'";
  return false;
}

void Persistence::Choose(const PersistOverride& forced, const PersistTarget& target, std::vector<std::string>* notes) {
  Granularity g = Granularity::kPage;
  if (target.map_sync) g = target.persistence_domain == "cpu_cache" ? Granularity::kByte : Granularity::kCacheline;
  if (forced.set) {
    if (forced.granularity != g) {
      notes->push_back(std::string("granularity forced to ") + OpsOf(forced.granularity).name +
                       " by PMEMDAX_FORCE_GRANULARITY (detected " + OpsOf(g).name + ")");
    }
    g = forced.granularity;
  }
  granularity_ = g;
  const GranularityOps& ops = OpsOf(g);
  const bool write_through = g == Granularity::kPage && target.file && target.writable;
  if (write_through) notes->push_back("page granularity: copies and fills are written with pwrite, then msync");

  CpuFeatures cpu = EffectiveCpu();
  flush_kind_ = PickFlush(cpu);
  state_.map = target.map;
  state_.fd = target.fd;
  state_.policy.kernel = &PickNtKernel(cpu);
  // Byte granularity needs no write-back; page granularity leaves it to msync.
  state_.policy.flush = g == Granularity::kCacheline ? FlushFunction(flush_kind_) : nullptr;
  state_.policy.movnt_threshold = 256;
  if (const char* t = std::getenv("PMEMDAX_MOVNT_THRESHOLD")) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(t, &end, 10);
    if (end != t && *end == '\0') state_.policy.movnt_threshold = v;
    else notes->push_back(std::string("ignored PMEMDAX_MOVNT_THRESHOLD='") + t + "': not a whole number");
  }
  if (EnvFlag("PMEMDAX_NO_MOVNT")) state_.policy.movnt_threshold = SIZE_MAX;
  if (std::string note = IoThreadsNote(); !note.empty()) notes->push_back(std::move(note));

  fns_ = PersistFns{ops.flush, ops.drain, write_through ? CopyByPwrite : CopyByStores,
                    write_through ? FillByPwrite : FillByStores, ops.store_flags};
}

void Persistence::Fence() { DrainFence(state_); }

int Persistence::Move(uint64_t dst, uint64_t src, size_t len, uint32_t flags, MappingFault* fault) {
  // Always stores: pwrite from an overlapping source in the same file would not behave like memmove.
  return GuardedMove(state_.policy, state_.map, dst, src, len, flags | fns_.store_flags, &state_.stats.flushed_lines, fault)
             ? 0
             : -1;
}

int Persistence::FinishStore(uint64_t offset, uint64_t len, uint32_t flags) {
  if (StoresLeaveFlush()) {
    if (flags & kNoFlush) return 0;
    MappingFault unused;
    return Flush(offset, len, &unused);
  }
  if (!(flags & kNoDrain)) fns_.drain(state_);
  return 0;
}

void Persistence::FinishFaultedStore(uint64_t offset, uint64_t fault_offset, uint32_t flags) {
  if (StoresLeaveFlush()) {
    Drain();
    MappingFault unused;
    if (!(flags & kNoFlush) && fault_offset > offset) Flush(offset, fault_offset - offset, &unused);
  } else if (!(flags & kNoDrain)) {
    fns_.drain(state_);
  }
}

const char* Persistence::GranularityName() const { return OpsOf(granularity_).name; }

const char* Persistence::FlushName() const {
  switch (granularity_) {
    case Granularity::kPage: return "msync";
    case Granularity::kByte: return "none";
    case Granularity::kCacheline: break;
  }
  return pmemdax::FlushName(flush_kind_);
}

}  // namespace pmemdax
