import type { DaxEntry } from './entry';
import type { RangeCursor } from './invalidate';
import type { DaxMapping } from './mapping';
import { waitExclusive, wakeOne } from './wait-table';

/**
 * clearDirtyStep -- one non-sleeping pass of T22 (before a CoW write): drop DIRTY and TOWRITE from
 * every unlocked entry in `[cursor.next, last]`. Returns the locked entry to wait for, or null.
 */
export function clearDirtyStep(m: DaxMapping, last: number, cursor: RangeCursor): DaxEntry | null {
  for (;;) {
    const e = m.tree.findFirst(cursor.next, last);
    if (e === undefined) return null;
    if (e.locked) return e;
    cursor.next = e.index + e.pages;
    e.dirty = false;
    e.towrite = false;
    wakeOne(m.id, e.index);
  }
}

/** clearDirtyRange -- `__dax_clear_dirty_range`: the sleeping form of clearDirtyStep. */
export async function clearDirtyRange(m: DaxMapping, first: number, last: number): Promise<void> {
  const cursor = { next: first, busy: false };
  let blocker: DaxEntry | null;
  while ((blocker = clearDirtyStep(m, last, cursor)) !== null) await waitExclusive(m.id, blocker.index);
}
