import { DaxMapping } from '../dax/mapping';
import type { DaxInode } from '../dax/types';
import { PAGE_SIZE } from '../iomap/constants';
import { AsyncRwLock } from '../dax/invalidate-lock';

/** Per-page state bits of a MemInode. */
export const PageState = {
  /** Allocated but logically zero (fallocate). */
  UNWRITTEN: 1,
  /** Its block mapping is not yet committed: fsync must run before a crash would keep it (F_DIRTY). */
  UNCOMMITTED: 2,
} as const;

/** No block: a hole. */
export const NO_BLOCK = -1;

/**
 * MemInode -- a file of the reference filesystem: i_size, its address space, and a page-indexed
 * block map (device page or NO_BLOCK, plus PageState bits). Extents are the maximal runs of pages
 * with the same state and consecutive blocks.
 */
export class MemInode implements DaxInode {
  readonly ino: number;
  readonly path: string;
  readonly blockSize = PAGE_SIZE;
  readonly mapping = new DaxMapping();
  /** Faults hold it shared; operations that remove or remap blocks hold it alone. */
  readonly invalidateLock = new AsyncRwLock();
  size = 0;
  readonly blocks: number[] = [];
  readonly state: number[] = [];

  constructor(ino: number, path: string) {
    this.ino = ino;
    this.path = path;
  }

  blockAt(page: number): number {
    return this.blocks[page] ?? NO_BLOCK;
  }

  stateAt(page: number): number {
    return this.state[page] ?? 0;
  }

  setPage(page: number, block: number, state: number): void {
    while (this.blocks.length < page) {
      this.blocks.push(NO_BLOCK);
      this.state.push(0);
    }
    this.blocks[page] = block;
    this.state[page] = block === NO_BLOCK ? 0 : state;
  }

  /** Pages that may hold blocks. */
  get pageCount(): number {
    return this.blocks.length;
  }
}
