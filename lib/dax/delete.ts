import type { DaxEntry } from './entry';
import { unmapBeyond } from './invalidate';
import { CONFLICT, removeEntry, withUnlockedEntry } from './lock';
import type { DaxMapping } from './mapping';
import { waitExclusive } from './wait-table';

/**
 * deleteMappingEntry -- T19 for one index: wait until its entry is unlocked, then remove it whatever
 * its marks. False when there was no entry (the kernel warns: the caller saw one).
 */
export async function deleteMappingEntry(m: DaxMapping, index: number): Promise<boolean> {
  return withUnlockedEntry(m, index, 0, (e) => {
    if (e === null || e === CONFLICT) return false;
    removeEntry(m, e);
    unmapBeyond(m, e);
    return true;
  });
}

/**
 * deleteRangeStep -- one non-sleeping pass of T19 over `[next, last]`: the locked entry to wait for,
 * or null when every entry overlapping the range is gone. `cursor.next` records progress.
 */
export function deleteRangeStep(m: DaxMapping, last: number, cursor: { next: number }): DaxEntry | null {
  for (;;) {
    const e = m.tree.findFirst(cursor.next, last);
    if (e === undefined) return null;
    if (e.locked) return e;
    cursor.next = e.index + e.pages;
    removeEntry(m, e);
    unmapBeyond(m, e);
  }
}

/**
 * deleteMappingRange -- remove every entry overlapping file pages `[first, last]` (truncate, punch,
 * break-layout), waiting for locked ones, and unmap the range. Returns how many were removed.
 */
export async function deleteMappingRange(m: DaxMapping, first: number, last: number): Promise<number> {
  const before = m.tree.size;
  const cursor = { next: first };
  let blocker: DaxEntry | null;
  while ((blocker = deleteRangeStep(m, last, cursor)) !== null) await waitExclusive(m.id, blocker.index);
  m.unmapPages(first, last - first + 1, true);
  return before - m.tree.size;
}
