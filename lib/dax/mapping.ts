import { EntryTree } from './tree';

/**
 * The page tables that map a file's pages, as far as the entry machinery needs them. The fault
 * layer installs an implementation; without one, nothing is mapped and these are no-ops.
 */
export interface PageTableHooks {
  /** unmap_mapping_pages: drop the mappings of file pages `[first, first+count)`; private CoW copies stay unless `evenCows`. */
  unmapPages(first: number, count: number, evenCows: boolean): void;
  /** pfn_mkclean_range: write-protect and clean the shared mappings of those pages before a flush. */
  cleanPages(first: number, count: number, pfn: number): void;
  /**
   * Write-protect the mappings of pages `[first, first+count)` so that the next store faults through
   * the filesystem: their blocks became shared (reflink, dedupe) and a store must copy on write. The
   * kernel needs no such call (a store to a clean page always faults); mappings whose stores are only
   * recorded, as lib/vm's write traps are, do.
   */
  writeProtectPages?(first: number, count: number): void;
}

let nextMappingId = 1;

/**
 * DaxMapping -- the address space of one DAX file: the entry tree (`i_pages`), the count of pages
 * its entries cover (`nrpages`), and the hooks to its page tables. It caches no data.
 */
export class DaxMapping {
  /** Identity for the shared wait table. */
  readonly id: number = nextMappingId++;
  readonly tree = new EntryTree();
  /** Sum over entries of 2^order (invariant 25). */
  nrpages = 0;
  pageTables: PageTableHooks | null = null;
  /** Set by a dirtying write fault so that writeback visits this mapping (mark_inode_dirty). */
  inodeDirty = false;
  /** The first writeback error not yet reported to an fsync caller. */
  writebackError: Error | null = null;

  /** True when the mapping has no entries. */
  get empty(): boolean {
    return this.tree.size === 0;
  }

  unmapPages(first: number, count: number, evenCows: boolean): void {
    this.pageTables?.unmapPages(first, count, evenCows);
  }

  writeProtectPages(first: number, count: number): void {
    this.pageTables?.writeProtectPages?.(first, count);
  }
}
