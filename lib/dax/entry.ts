import { PAGE_SIZE, PMD_ORDER } from '../iomap/constants';

/** What an entry stands for (docs/semantics.md §3.1): storage, the shared zero page/folio, or a placeholder. */
export const EntryKind = {
  REAL: 0,
  ZERO: 1,
  EMPTY: 2,
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

/** pfn of the global zero page and of the huge zero folio: not device pages, never flushed. */
export const ZERO_PAGE_PFN = -1;
export const HUGE_ZERO_PFN = -512;

export type EntryOrder = 0 | typeof PMD_ORDER;

/**
 * DaxEntry -- one mapping entry: a PTE (order 0, one index) or a PMD (order 9, the 512 indices from
 * a PMD base). The object is the entry's identity while it is in the tree; `present` turns false
 * when it is removed, so a stale reference can be recognised.
 */
export class DaxEntry {
  /** First index covered (a PMD base for order 9). */
  readonly index: number;
  readonly order: EntryOrder;
  kind: EntryKind;
  /** Device page for REAL, 0 for EMPTY, ZERO_PAGE_PFN / HUGE_ZERO_PFN for ZERO. */
  pfn: number;
  locked = false;
  dirty = false;
  towrite = false;
  present = true;

  constructor(index: number, order: EntryOrder, kind: EntryKind, pfn: number) {
    this.index = index;
    this.order = order;
    this.kind = kind;
    this.pfn = pfn;
  }

  /** Indices covered: 1 or 512. */
  get pages(): number {
    return this.order === 0 ? 1 : 512;
  }

  get isPmd(): boolean {
    return this.order !== 0;
  }

  /** Bytes that writeback flushes for it: 0 for ZERO and EMPTY (dax_entry_size). */
  get size(): number {
    return this.kind === EntryKind.REAL ? this.pages * PAGE_SIZE : 0;
  }
}

/** zeroPfn -- the zero page for a PTE entry, the huge zero folio for a PMD entry. */
export function zeroPfn(order: EntryOrder): number {
  return order === 0 ? ZERO_PAGE_PFN : HUGE_ZERO_PFN;
}
