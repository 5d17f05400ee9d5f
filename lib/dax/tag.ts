import type { DaxMapping } from './mapping';

/**
 * tagPagesForWriteback -- T17: every DIRTY entry overlapping file pages `[first, last]` also gets
 * TOWRITE, a snapshot of what this integrity sync must flush (later dirtying is not its business,
 * which is what keeps fsync from livelocking). Returns how many were tagged.
 */
export function tagPagesForWriteback(m: DaxMapping, first: number, last: number): number {
  let n = 0;
  let cursor = first;
  for (;;) {
    const e = m.tree.findFirst(cursor, last);
    if (e === undefined) return n;
    cursor = e.index + e.pages;
    if (e.dirty && !e.towrite) {
      e.towrite = true;
      n++;
    }
  }
}
