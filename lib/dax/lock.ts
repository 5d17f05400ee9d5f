import { internalError } from '../errors';
import { DaxEntry, type EntryOrder } from './entry';
import type { DaxMapping } from './mapping';
import { waitExclusive, wakeAll, wakeOne } from './wait-table';

/** A smaller entry inside a requested PMD range: the caller must fall back, never wait. */
export const CONFLICT: unique symbol = Symbol('CONFLICT');
export type Conflict = typeof CONFLICT;

/**
 * lookupUnlocked -- one pass of get_next_unlocked_entry without sleeping: the unlocked entry,
 * `null` (ABSENT), CONFLICT, or the locked entry to wait for, as `{ wait }`.
 */
export function lookupUnlocked(
  m: DaxMapping,
  index: number,
  order: EntryOrder,
): DaxEntry | null | Conflict | { wait: DaxEntry } {
  // The index itself, or its whole PMD range.
  const first = order === 0 ? index : index - (index % 512);
  const e = m.tree.findFirst(first, order === 0 ? index : first + 511);
  if (e === undefined) return null;
  if (e.order < order) return CONFLICT;
  if (e.locked) return { wait: e };
  return e;
}

/**
 * withUnlockedEntry -- the acquire loop of docs/semantics.md §3.2: find the entry covering `index` (or its PMD range
 * for order 9); while it is locked, sleep as an exclusive waiter on its key and look again. Then run
 * `act` on what was found (the unlocked entry, ABSENT as `null`, or CONFLICT) in the same
 * synchronous section as the lookup, which is what holding the tree lock means here: nothing can
 * change between the look and the act. An `act` that does not lock or remove the entry must
 * `putUnlockedEntry` it, so that a wakeup it consumed is passed on.
 */
export async function withUnlockedEntry<T>(
  m: DaxMapping,
  index: number,
  order: EntryOrder,
  act: (e: DaxEntry | null | Conflict) => T,
): Promise<T> {
  for (;;) {
    const r = lookupUnlocked(m, index, order);
    if (r === null || r === CONFLICT || r instanceof DaxEntry) return act(r);
    await waitExclusive(m.id, r.wait.index);
  }
}

/**
 * anyLocked -- whether an entry overlapping pages `[first, last]` is locked. Code that cannot sleep
 * asks this before it starts: nothing can lock an entry while it runs without yielding.
 */
export function anyLocked(m: DaxMapping, first: number, last: number): boolean {
  let cursor = first;
  for (;;) {
    const e = m.tree.findFirst(cursor, last);
    if (e === undefined) return false;
    if (e.locked) return true;
    cursor = e.index + e.pages;
  }
}

/** lockEntry -- set LOCKED on an unlocked entry the caller just found (tree-lock section). */
export function lockEntry(e: DaxEntry): void {
  if (e.locked) throw internalError(`dax: entry at ${e.index} is already locked`);
  e.locked = true;
}

/** unlockEntry -- clear LOCKED (unlocking an unlocked entry is a bug) and wake one waiter. */
export function unlockEntry(m: DaxMapping, e: DaxEntry): void {
  if (!e.locked) throw internalError(`dax: unlock of unlocked entry at ${e.index}`);
  e.locked = false;
  wakeOne(m.id, e.index);
}

/** putUnlockedEntry -- pass the baton for an entry found unlocked but not taken. */
export function putUnlockedEntry(m: DaxMapping, e: DaxEntry | null | Conflict, all = false): void {
  if (!(e instanceof DaxEntry)) return;
  if (all) wakeAll(m.id, e.index);
  else wakeOne(m.id, e.index);
}

/**
 * removeEntry -- take `e` out of the tree: the slot becomes ABSENT, nrpages drops by its size, and
 * every waiter on its key is woken to look again (they waited for something that is gone).
 */
export function removeEntry(m: DaxMapping, e: DaxEntry): void {
  m.tree.remove(e);
  m.nrpages -= e.pages;
  e.present = false;
  e.locked = false;
  wakeAll(m.id, e.index);
}
