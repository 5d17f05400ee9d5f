import { internalError } from '../errors';
import { EntryKind, zeroPfn, type DaxEntry } from './entry';
import type { DaxMapping } from './mapping';

/** The result of a fault, to be recorded in the locked entry. */
export interface InsertTarget {
  /** Device page, or ignored when `zero`. */
  readonly pfn: number;
  /** A hole read: the zero page (PTE) or huge zero folio (PMD). */
  readonly zero: boolean;
}

/** How the fault that produced it ran. */
export interface InsertFlags {
  /** IOMAP_WRITE was in the fault's flags. */
  readonly write: boolean;
  /** A synchronous (MAP_SYNC with F_DIRTY) write fault: no DIRTY until finish-sync-fault. */
  readonly sync: boolean;
  /** The extent was F_SHARED: a CoW destination replaces whatever was there. */
  readonly shared: boolean;
}

/**
 * insertEntry -- docs/semantics.md §3.5 (dax_insert_entry). Called with `e` locked. A REAL entry is never
 * replaced except by a shared (CoW) destination; ZERO and EMPTY entries are. Mappings of a replaced
 * zero page or shared block are torn down first, so nobody keeps reading the old page. Returns the
 * entry now stored (still locked). The entry keeps its order: a PTE fault in a REAL PMD entry
 * dirties the whole PMD.
 */
export function insertEntry(m: DaxMapping, e: DaxEntry, target: InsertTarget, flags: InsertFlags): DaxEntry {
  if (!e.locked || !e.present) throw internalError(`dax: insert into an entry that is not locked and present (${e.index})`);
  const dirty = flags.write && !flags.sync;
  if (dirty) m.inodeDirty = true;
  const newZero = target.zero;
  if (flags.shared || (e.kind === EntryKind.ZERO && !newZero)) {
    m.unmapPages(e.index, e.pages, false);
  }
  if (flags.shared || e.kind === EntryKind.ZERO || e.kind === EntryKind.EMPTY) {
    if (!newZero && e.isPmd && target.pfn % 512 !== 0) throw internalError(`dax: PMD entry at ${e.index} needs a 512-aligned pfn`);
    e.kind = newZero ? EntryKind.ZERO : EntryKind.REAL;
    e.pfn = newZero ? zeroPfn(e.order) : target.pfn;
    if (newZero) {
      e.dirty = false;
      e.towrite = false;
    }
  }
  if (e.kind === EntryKind.REAL) {
    if (dirty) e.dirty = true;
    // A shared write is part of the next integrity sync even before it is dirtied (kernel order).
    if (flags.write && flags.shared) e.towrite = true;
  }
  return e;
}
