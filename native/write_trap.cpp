#include "write_trap.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "signal_chain.h"
#include "units.h"

namespace pmemdax {

namespace {

constexpr size_t kMaxRegions = 4096;

std::atomic<TrapTable*> g_tables[kMaxRegions];
std::atomic<size_t> g_used{0};  // slots at and above this were never used: the handler stops there
struct sigaction g_previous;

std::atomic<uint8_t>* StateOf(const TrapTable* t, size_t page) {
  TrapChunk* c = t->chunks[page / kTrapChunkPages].load(std::memory_order_acquire);
  return c == nullptr ? nullptr : &c->state[page % kTrapChunkPages];
}

void OnSigsegv(int sig, siginfo_t* info, void* ctx) {
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  size_t used = g_used.load(std::memory_order_acquire);
  for (size_t i = 0; i < used; ++i) {
    TrapTable* t = g_tables[i].load(std::memory_order_acquire);
    if (t == nullptr || addr < t->base || addr >= t->base + t->pages * kPageSize) continue;
    size_t page = (addr - t->base) / kPageSize;
    std::atomic<uint8_t>* state = StateOf(t, page);
    if (state == nullptr) break;  // never armed: a real fault
    uint8_t expected = kTrapArmed;
    if (state->compare_exchange_strong(expected, kTrapFiring)) {
      // mprotect is a plain system call and safe here; the log slot is ours alone (one entry per arming).
      size_t first = page & ~(t->granule_pages - 1);
      if (mprotect(reinterpret_cast<void*>(t->base + first * kPageSize), t->granule_pages * kPageSize, PROT_READ | PROT_WRITE) == 0) {
        TrapChunk* c = t->chunks[page / kTrapChunkPages].load(std::memory_order_acquire);
        uint32_t slot = c->log_count.fetch_add(1, std::memory_order_relaxed);
        uint64_t seq = t->sequence.fetch_add(1, std::memory_order_relaxed);
        if (slot < kTrapChunkPages) c->log[slot] = (seq << 16) | (page % kTrapChunkPages);
        t->traps.fetch_add(1, std::memory_order_relaxed);
        for (size_t p = first; p < first + t->granule_pages; ++p) {
          if (std::atomic<uint8_t>* s = StateOf(t, p)) s->store(kTrapOff, std::memory_order_release);
        }
        return;
      }
      // The store cannot be allowed and the process is about to die of it: say why, with what a
      // signal handler may use (write(2) of constant text).
      static const char kMapCount[] =
          "pmemdax: a write trap could not make its page writable: mprotect failed with ENOMEM, the process "
          "has reached vm.max_map_count mappings (each trapped page between two syncs may take one). Sync "
          "(fsync) more often, use 2 MiB mappings, or raise /proc/sys/vm/max_map_count.\n";
      static const char kOther[] = "pmemdax: a write trap could not make its page writable: mprotect failed.\n";
      const bool no_mem = errno == ENOMEM;
      ssize_t ignored = write(2, no_mem ? kMapCount : kOther, no_mem ? sizeof kMapCount - 1 : sizeof kOther - 1);
      (void)ignored;
      state->store(kTrapArmed, std::memory_order_release);
      break;
    }
    if (expected == kTrapFiring) return;  // another thread is opening this page; retry the access
    break;                                // our region, but not a trap: a real fault
  }
  ChainSignal(g_previous, sig, info, ctx);
}

void Install() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = OnSigsegv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous);
  });
}

}  // namespace

bool RegisterTraps(TrapTable* table) {
  Install();
  for (size_t i = 0; i < kMaxRegions; ++i) {
    TrapTable* expected = nullptr;
    if (g_tables[i].compare_exchange_strong(expected, table, std::memory_order_acq_rel)) {
      size_t used = g_used.load(std::memory_order_relaxed);
      while (used < i + 1 && !g_used.compare_exchange_weak(used, i + 1, std::memory_order_acq_rel)) {
      }
      return true;
    }
  }
  return false;
}

void UnregisterTraps(TrapTable* table) {
  for (auto& slot : g_tables) {
    TrapTable* expected = table;
    if (slot.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) return;
  }
}

}  // namespace pmemdax
