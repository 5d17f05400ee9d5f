import { DaxEntry, EntryKind } from './entry';
import { lookupUnlocked, lockEntry, unlockEntry, CONFLICT } from './lock';
import type { DaxMapping } from './mapping';
import { waitShared } from './wait-table';

/** The `~0` cookie: nothing to lock (no entry, or a ZERO/EMPTY one that has no storage behind it). */
export const NOTHING_TO_LOCK: unique symbol = Symbol('NOTHING_TO_LOCK');
export type NothingToLock = typeof NOTHING_TO_LOCK;

/**
 * daxLockMappingEntry -- the memory-failure path's lock (dax_lock_mapping_entry): lock the REAL
 * entry covering `index`, or answer NOTHING_TO_LOCK. It waits *non-exclusively*, because it may end
 * up not taking the lock and would then strand the exclusive waiters behind it.
 */
export async function daxLockMappingEntry(m: DaxMapping, index: number): Promise<DaxEntry | NothingToLock> {
  for (;;) {
    const r = lookupUnlocked(m, index, 0);
    if (r === null || r === CONFLICT) return NOTHING_TO_LOCK;
    if (!(r instanceof DaxEntry)) {
      await waitShared(m.id, r.wait.index);
      continue;
    }
    if (r.kind !== EntryKind.REAL) return NOTHING_TO_LOCK;
    lockEntry(r);
    return r;
  }
}

/** daxUnlockMappingEntry -- release what daxLockMappingEntry locked. */
export function daxUnlockMappingEntry(m: DaxMapping, e: DaxEntry | NothingToLock): void {
  if (e !== NOTHING_TO_LOCK) unlockEntry(m, e);
}
