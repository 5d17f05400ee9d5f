import type { PmdFallbackReason } from '../dax/fault-types';

/** Counters of the fault and writeback paths of one file, for tests and benchmarks. */
export interface VmStats {
  /** Faults handled at 4 KiB (including PMD faults retried as PTE faults). */
  ptePageFaults: number;
  /** Faults that installed (or found) a 2 MiB mapping. */
  pmdFaults: number;
  readFaults: number;
  writeFaults: number;
  /** Served by the zero page, or by a zeroed private copy of a hole. */
  holeFaults: number;
  /** Private copy-on-write faults (DONE_COW). */
  cowFaults: number;
  /** Faults that allocated storage (MAJOR). */
  majorFaults: number;
  /** MAP_SYNC write faults that needed the metadata made durable first (NEEDDSYNC). */
  syncFaults: number;
  /** PMD faults retried as PTE faults, and why. */
  pmdFallbacks: number;
  fallbackReasons: Partial<Record<PmdFallbackReason, number>>;
  /** Faults that ended in SIGBUS / HWPOISON / OOM. */
  sigbus: number;
  hwpoison: number;
  oom: number;
  /** Raw stores caught by a write-protected page (the userspace page_mkwrite). */
  writeTraps: number;
  /** Entries flushed by writeback, and their bytes (4 KiB or 2 MiB each). */
  writebackEntries: number;
  writebackBytes: number;
}

export function emptyVmStats(): VmStats {
  return {
    ptePageFaults: 0,
    pmdFaults: 0,
    readFaults: 0,
    writeFaults: 0,
    holeFaults: 0,
    cowFaults: 0,
    majorFaults: 0,
    syncFaults: 0,
    pmdFallbacks: 0,
    fallbackReasons: {},
    sigbus: 0,
    hwpoison: 0,
    oom: 0,
    writeTraps: 0,
    writebackEntries: 0,
    writebackBytes: 0,
  };
}
