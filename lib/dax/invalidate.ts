import { Errno } from '../iomap/errno';
import type { DaxEntry } from './entry';
import { CONFLICT, putUnlockedEntry, removeEntry, withUnlockedEntry } from './lock';
import type { DaxMapping } from './mapping';
import { waitExclusive, wakeAll } from './wait-table';

/** Progress of a range scan that may have to sleep and resume. */
export interface RangeCursor {
  next: number;
  busy: boolean;
}

export function rangeCursor(first: number): RangeCursor {
  return { next: first, busy: false };
}

/**
 * invalidateRangeStep -- one non-sleeping pass of invalidate-if-clean over `[cursor.next, last]`:
 * clean entries are removed (T20), DIRTY/TOWRITE ones are kept and make the range busy (T21).
 * Returns the locked entry the pass stopped at (wait for it and call again), or null when done.
 */
export function invalidateRangeStep(m: DaxMapping, last: number, cursor: RangeCursor): DaxEntry | null {
  for (;;) {
    const e = m.tree.findFirst(cursor.next, last);
    if (e === undefined) return null;
    if (e.locked) return e;
    cursor.next = e.index + e.pages;
    if (e.dirty || e.towrite) {
      cursor.busy = true;
      wakeAll(m.id, e.index);
    } else {
      removeEntry(m, e);
      unmapBeyond(m, e);
    }
  }
}

/**
 * A removed 2 MiB entry takes every page it covered out of the page tables, not only those of the range
 * being removed: a page mapped through it (a page mapping under a 2 MiB entry, after a split) would be left
 * without an entry, escaping writeback, or showing a zero page over data written later. Private copies
 * stay: dropping them (truncate, punch) is the caller's unmap of its own range.
 */
export function unmapBeyond(m: DaxMapping, e: DaxEntry): void {
  if (e.pages > 1) m.unmapPages(e.index, e.pages, false);
}

/**
 * invalidateInodePages2Range -- drop every clean entry overlapping file pages `[first, last]`, then
 * unmap the whole range (after the tree, so a racing re-map cannot be missed). Returns 0, or
 * `-EBUSY` when a dirty entry had to be kept.
 */
export async function invalidateInodePages2Range(m: DaxMapping, first: number, last: number): Promise<number> {
  const cursor = rangeCursor(first);
  let blocker: DaxEntry | null;
  while ((blocker = invalidateRangeStep(m, last, cursor)) !== null) await waitExclusive(m.id, blocker.index);
  m.unmapPages(first, last - first + 1, false);
  return cursor.busy ? -Errno.EBUSY : 0;
}

/**
 * invalidateMappingEntrySync -- remove the entry covering `index` iff it has neither DIRTY nor
 * TOWRITE (waiting for it to be unlocked first). True when it was removed.
 */
export async function invalidateMappingEntrySync(m: DaxMapping, index: number): Promise<boolean> {
  return withUnlockedEntry(m, index, 0, (e) => {
    if (e === null || e === CONFLICT) return false;
    if (e.dirty || e.towrite) {
      putUnlockedEntry(m, e, true);
      return false;
    }
    removeEntry(m, e);
    unmapBeyond(m, e);
    return true;
  });
}
