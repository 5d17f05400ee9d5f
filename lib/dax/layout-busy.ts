import type { DaxDevice } from '../device/types';
import { EntryKind, type DaxEntry } from './entry';
import type { DaxMapping } from './mapping';
import { firstPinned } from './pins';
import { waitExclusive, wakeOne } from './wait-table';

/** A busy page: the device page holding an extra reference, and the file page it backs. */
export interface BusyPage {
  readonly pfn: number;
  readonly index: number;
}

/**
 * busyScanStep -- one non-sleeping pass over the entries of `[cursor.next, last]`: the first busy
 * page, the locked entry to wait for, or null when the rest of the range is idle. ZERO and EMPTY
 * entries are never busy; a REAL one is busy while any of its pages is pinned.
 */
function busyScanStep(m: DaxMapping, device: DaxDevice, last: number, cursor: { next: number; woken: number }): { busy: BusyPage } | { wait: DaxEntry } | null {
  for (;;) {
    const e = m.tree.findFirst(cursor.next, last);
    if (e === undefined) return null;
    if (e.locked) return { wait: e };
    cursor.next = e.index + e.pages;
    // We consumed a wakeup for this entry and are not taking it: pass the baton on.
    if (e.index === cursor.woken) {
      cursor.woken = -1;
      wakeOne(m.id, e.index);
    }
    if (e.kind !== EntryKind.REAL) continue;
    const p = firstPinned(device, e.pfn, e.pages);
    if (p >= 0) return { busy: { pfn: p, index: e.index + (p - e.pfn) } };
  }
}

/**
 * daxLayoutBusyPageRange -- docs/semantics.md §3.7 (invariant 26): unmap every page-table mapping of file
 * pages `[first, last]` (private CoW copies stay), so new users can only come through a fault, then
 * return the first page some entry in the range still has referenced beyond its mappings, or null.
 */
export async function daxLayoutBusyPageRange(m: DaxMapping, device: DaxDevice, first: number, last: number): Promise<BusyPage | null> {
  m.unmapPages(first, last - first + 1, false);
  const cursor = { next: first, woken: -1 };
  for (;;) {
    const r = busyScanStep(m, device, last, cursor);
    if (r === null) return null;
    if ('busy' in r) return r.busy;
    await waitExclusive(m.id, r.wait.index);
    cursor.woken = r.wait.index;
  }
}
