import { DaxMapping } from '../dax/mapping';
import type { DaxInode } from '../dax/types';
import { PAGE_SIZE } from '../iomap/constants';
import { AsyncRwLock } from '../dax/invalidate-lock';
import type { DaxFile } from '../vm/file';
import { ExtentMap } from './extent-map';
import { BLOCK } from './layout';
import type { PoolStat } from './types';

/**
 * PoolInode -- a pool file in memory: its name (null once unlinked while open), size, times, extent
 * map, the DAX mapping tree, and what changed since the last commit (the dirty page range whose
 * mappings must be journalled, and whether the size or times did).
 */
export class PoolInode implements DaxInode {
  readonly ino: number;
  readonly extents = new ExtentMap();
  name: string | null;
  size = 0;
  #mtimeMs: number;
  /** Written since mtime was last read: the clock is read then, not on every write (lazytime). */
  mtimeStale = false;
  ctimeMs: number;
  /** Open PoolFile handles; an unlinked inode is freed when the last one closes. */
  opens = 0;
  /** When a lookup last found it (InodeCache's count of lookups): recently used inodes stay in memory. */
  used = 0;
  /** The extent count the state's checkpoint size last counted for it; -1 while it is not in a state. */
  countedExtents = -1;
  /** Pages `[dirtyLo, dirtyHi)` have mappings not yet committed. */
  dirtyLo = Infinity;
  dirtyHi = 0;
  /** The size changed since the last commit. */
  attrDirty = false;
  /** Only the modification time changed since the last commit. */
  timeDirty = false;
  /** The mappable view, made on the first mmap. */
  daxFile: DaxFile | null = null;
  poolPath: string;
  // Made on first use: a pool holds many inodes that are never opened.
  #mapping: DaxMapping | null = null;
  #invalidateLock: AsyncRwLock | null = null;

  constructor(ino: number, name: string | null, poolPath: string, nowMs: number) {
    this.ino = ino;
    this.name = name;
    this.poolPath = poolPath;
    this.#mtimeMs = nowMs;
    this.ctimeMs = nowMs;
  }

  /** Modification time: a write marks it stale; it becomes the current time when next read or committed. */
  get mtimeMs(): number {
    if (this.mtimeStale) {
      this.mtimeStale = false;
      this.#mtimeMs = Date.now();
    }
    return this.#mtimeMs;
  }

  set mtimeMs(ms: number) {
    this.mtimeStale = false;
    this.#mtimeMs = ms;
  }

  get blockSize(): number {
    return PAGE_SIZE;
  }

  /** True when the DAX mapping holds entries (a region faulted pages in): I/O must go through the DAX layer. */
  get hasEntries(): boolean {
    return this.#mapping !== null && !this.#mapping.empty;
  }

  /**
   * Mapped by the writer: a region was made, or the DAX mapping holds entries. Writes to it go in place even
   * while readers may see its blocks (alloc.ts, `cowNeeded`): a region's pages are written through the mapping
   * whatever the pool decides, and the DAX layer's entries stand for blocks written in place.
   */
  get mappedByWriter(): boolean {
    return this.daxFile !== null || this.hasEntries;
  }

  /**
   * Could a reader's snapshot see a change at `pos` of this file (so that committed blocks are copied for it: alloc.ts
   * `cowNeeded`)? Not past EOF: no snapshot holds bytes beyond a size it was committed with, and the size in memory is
   * never below the committed one (a truncate down commits; one inside a block copies it while readers exist).
   * Not in a file the writer maps (`mappedByWriter`), written in place whatever the pool decides.
   */
  seenByReaders(pos: number): boolean {
    return pos < this.size && !this.mappedByWriter;
  }

  get mapping(): DaxMapping {
    return (this.#mapping ??= new DaxMapping());
  }

  /** Faults hold it shared; operations that remove or remap blocks hold it alone. */
  get invalidateLock(): AsyncRwLock {
    return (this.#invalidateLock ??= new AsyncRwLock());
  }

  /** For error messages: `<pool path>:<name>`. */
  get path(): string {
    return `${this.poolPath}:${this.name ?? `(unlinked inode ${this.ino})`}`;
  }

  markDirty(page: number, count: number): void {
    if (page < this.dirtyLo) this.dirtyLo = page;
    if (page + count > this.dirtyHi) this.dirtyHi = page + count;
  }

  get metaDirty(): boolean {
    return this.attrDirty || this.dirtyHi > this.dirtyLo;
  }
}

export function statOf(inode: PoolInode): PoolStat {
  return {
    name: inode.name ?? '',
    ino: inode.ino,
    size: inode.size,
    allocated: inode.extents.mappedPages() * BLOCK,
    mtimeMs: inode.mtimeMs,
    ctimeMs: inode.ctimeMs,
    extents: inode.extents.length,
  };
}
