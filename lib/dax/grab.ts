import { PMD_ORDER } from '../iomap/constants';
import { DaxEntry, EntryKind, type EntryOrder } from './entry';
import { CONFLICT, lockEntry, removeEntry, withUnlockedEntry, type Conflict } from './lock';
import type { DaxMapping } from './mapping';

/** A PMD grab found PTE entries in its range: retry the access as PTE faults. */
export const FALLBACK: unique symbol = Symbol('FALLBACK');
export type Fallback = typeof FALLBACK;

/**
 * grabMappingEntry -- docs/semantics.md §3.4: return the entry for `index` locked, creating a locked EMPTY
 * entry where there is none. A PTE request that lands in a ZERO or EMPTY PMD entry downgrades it
 * (unmapping the zero folio first); a REAL PMD entry is kept and returned. A PMD request that finds
 * any PTE entry in its range returns FALLBACK without waiting.
 */
export async function grabMappingEntry(m: DaxMapping, index: number, order: EntryOrder): Promise<DaxEntry | Fallback> {
  const base = order === PMD_ORDER ? index - (index % 512) : index;
  return withUnlockedEntry(m, base, order, (found) => grabFound(m, base, order, found));
}

function grabFound(m: DaxMapping, base: number, order: EntryOrder, found: DaxEntry | null | Conflict): DaxEntry | Fallback {
  if (found === CONFLICT) return FALLBACK;
  if (found !== null) {
    if (order === 0 && found.isPmd && found.kind !== EntryKind.REAL) {
      // Downgrade: PTE entries are preferred, and an unbacked PMD entry may be split freely.
      lockEntry(found);
      if (found.kind === EntryKind.ZERO) m.unmapPages(found.index, found.pages, false);
      removeEntry(m, found);
    } else {
      lockEntry(found);
      return found;
    }
  }
  const e = new DaxEntry(base, order, EntryKind.EMPTY, 0);
  e.locked = true;
  m.tree.insert(e);
  m.nrpages += e.pages;
  return e;
}
