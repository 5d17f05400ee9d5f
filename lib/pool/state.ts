import type { DaxDevice } from '../device/types';
import { Allocator } from './alloc';
import { poolError, readingTrees } from './errors';
import { ExtentState } from './extent-map';
import { PoolInode } from './inode';
import { InodeCache } from './inode-cache';
import { NameTable } from './name-table';
import { dataEnd, dataStart, type Superblock } from './layout';
import { BitmapCopies } from './meta/bitmap-copy';
import { decodeInode, inoKey } from './meta/records';
import { EXTENT_CELL, INODE_CELLS, PoolTrees, SHARED_CELL, extentsOf, treePagesFor } from './meta/trees';
import { fillFromTrees } from './tree-inode';

/** A namespace change waiting for the next commit, in the order it happened. */
export type NamespaceOp =
  | { readonly op: 'create'; readonly ino: number; readonly name: string; readonly ctimeMs: number }
  | { readonly op: 'name'; readonly ino: number; readonly name: string | null }
  | { readonly op: 'drop'; readonly ino: number };

/**
 * What one step of a data operation may add to the checkpoint after its blocks were taken: a new
 * mapping splits at most the two extents at its ends.
 */
const STEP_BYTES = 2 * EXTENT_CELL;
/** Blocks every growing operation leaves free on top of the next checkpoint's (the reserve rule). */
const RESERVE_SPARE = 1;
/** The last inode number a file can get: `nextIno` is recorded as 32 bits and must stay above every inode. */
export const INO_MAX = 0xfffffffe;

/**
 * PoolState -- a pool's metadata as the writer sees it: the trees of the last checkpoint on the media,
 * the inodes memory holds (by number and by name: those changed since the checkpoint, those open, and a
 * cache of those read from the trees), the allocator, and the changes since the last commit (namespace
 * operations in order; inodes whose mappings or attributes changed; the allocator's own change lists),
 * and since the last checkpoint (the inodes and shared blocks its trees must be brought up to date for).
 *
 * It also keeps the bytes the trees' cells would take now (`ckptBytes`, kept up to date as inodes,
 * names and extents change), so every operation that grows the metadata can first check that a
 * checkpoint rewriting every tree would still fit in the free blocks (the reserve rule, docs/format.md).
 */
export class PoolState {
  sb: Superblock;
  readonly path: string;
  readonly inodes = new InodeCache();
  readonly names: NameTable;
  readonly alloc: Allocator;
  nextIno = 1;
  /** Inodes of the pool, memory's or the trees'. */
  inodeCount: number;
  /** Inodes without a name (unlinked while open, or left so by a crash): memory holds every one. */
  readonly nameless = new Set<PoolInode>();
  readonly namespaceOps: NamespaceOp[] = [];
  readonly dirtyInodes = new Set<PoolInode>();
  /** The on-media trees of the last checkpoint, and the changes made to them since (their overlay). */
  readonly trees: PoolTrees;
  readonly bitmapCopies = new BitmapCopies();
  /** Inodes created, changed or gone since the last checkpoint: the trees are behind for them. */
  readonly treeInodes = new Set<number>();
  /**
   * A reader's: inodes a failed refresh changed part way (a record applied in part), with its error. Files open
   * on them refuse to answer (PoolFile); a new snapshot, a new state, has none.
   */
  torn: { readonly inodes: Set<number>; readonly cause: Error } | null = null;
  /**
   * Blocks holding metadata as loaded (bitmap copies and tree pages), as bits: a journal record may not
   * map them. Null on a pool made in this process.
   */
  metaBlocks: Uint32Array | null = null;
  /** Tree cell bytes of the inodes (the shared-block table is counted live). */
  #bytes = 0;
  /** Mapped ranges of the inodes in a commit being written, F_DIRTY until it is durable. */
  readonly #flightRanges = new Map<PoolInode, [number, number]>();
  /** Inodes whose changes are in a commit being written: memory is ahead of the media for them until `endFlight`. */
  readonly #flightInodes = new Set<PoolInode>();

  constructor(sb: Superblock, path: string, device: DaxDevice) {
    this.sb = sb;
    this.path = path;
    this.inodeCount = sb.inodeCount;
    const alloc = new Allocator(sb.blocks, dataStart(sb), dataEnd(sb));
    this.alloc = alloc;
    this.names = new NameTable(() => this.trees.names, path, (ino) => this.inodes.get(ino), (inode) => this.inodes.use(inode));
    this.trees = new PoolTrees(device, path, {
      take: () => alloc.takeMetaBlock(),
      give: (b) => alloc.dropNow(b, 1),
      retire: (b) => alloc.retire(b, 1),
    }, sb.roots);
    this.inodes.setFault((ino) => this.#fromTrees(ino), (inode) => this.#evictable(inode), (inode) => this.#evict(inode), (ino) => ino < this.sb.nextIno);
  }

  /** Inode `ino` as the trees hold it, made part of the state (counted as the checkpoint counted it); undefined when they do not hold it. */
  #fromTrees(ino: number): PoolInode | undefined {
    return readingTrees(this.path, () => {
      const v = this.trees.inodes.get(inoKey(ino));
      if (v === null) return undefined;
      // Read whole before it joins the state: an inode whose extents do not check out is not half made.
      const inode = this.treeInode(ino, v);
      this.#adopt(inode);
      if (inode.name !== null) this.names.load(inode.name, inode);
      else this.nameless.add(inode);
      inode.countedExtents = inode.extents.length;
      return inode;
    });
  }

  /** An inode read from the trees (one not in the state, for a pass over every inode: it is not cached). */
  treeInode(ino: number, v: Buffer): PoolInode {
    return readingTrees(this.path, () => {
      const r = decodeInode(ino, v, this.path);
      return fillFromTrees(this.trees, this.sb, new PoolInode(ino, r.name, this.path, r.ctimeMs), r, this.path);
    });
  }

  /** May memory forget `inode`? Only if the trees hold it as it is and nothing holds it. */
  #evictable(inode: PoolInode): boolean {
    return inode.opens === 0 && inode.name !== null && inode.daxFile === null && !inode.hasEntries && !inode.metaDirty
      && !this.treeInodes.has(inode.ino) && !this.dirtyInodes.has(inode) && !this.inFlight(inode);
  }

  #evict(inode: PoolInode): void {
    this.inodes.drop(inode);
    this.names.evict(inode.name as string, inode);
    inode.countedExtents = -1;
  }

  /**
   * After an open that read only the superblock (the checkpoint is clean): the reserve rule's count is the
   * superblock's, and the inodes are read from the trees as they are needed, memory keeping a bounded cache.
   */
  openLazily(): void {
    this.#bytes = this.sb.metaBytes;
    this.inodes.limit = InodeCache.defaultLimit;
    this.refreshKeep();
  }

  /** Files: inodes with a name. */
  get files(): number {
    return this.inodeCount - this.nameless.size;
  }

  /**
   * Bytes of the inodes' tree cells as a checkpoint writes them, for its superblock. The inodes changed since
   * their last count (a change may map before or after it is counted) are counted again first; their extents
   * not yet committed stay apart from committed neighbours in memory (and count so for the reserve rule), but
   * go to the trees merged (extentsOf), as a load or a read from the trees counts them.
   */
  recordedBytes(): number {
    let apart = 0;
    const changed = new Set([...this.dirtyInodes, ...this.#flightInodes]);
    for (const inode of changed) {
      this.#recount(inode);
      if (inode.countedExtents > 0) apart += inode.countedExtents - extentsOf(inode).length;
    }
    return this.#bytes - apart * EXTENT_CELL;
  }

  get pending(): boolean {
    const a = this.alloc;
    return this.namespaceOps.length > 0 || this.dirtyInodes.size > 0 || a.allocRuns.length > 0 || a.freeRuns.length > 0 || a.refChanged.size > 0;
  }

  /** Bytes of a checkpoint of the state as it is now, pending changes included. */
  get ckptBytes(): number {
    return this.#bytes + this.alloc.shared.size * SHARED_CELL;
  }

  /** Blocks a checkpoint rewriting every tree would need after the metadata grew by `extra` bytes. */
  ckptBlocksWith(extra: number): number {
    return treePagesFor(this.ckptBytes + extra);
  }

  /** May a file named `name` be created? ENOSPC otherwise. */
  needRoomForName(name: string, syscall: string, path: string): void {
    this.needRoom(INODE_CELLS + 2 * nameBytes(name), syscall, path);
  }

  /** May a name grow by `bytes` (it is kept twice: the names tree's key and the inode's record)? ENOSPC otherwise. */
  needRoomForLongerName(bytes: number, syscall: string, path: string): void {
    this.needRoom(2 * bytes, syscall, path);
  }

  /** May an inode gain `count` extents (a split)? ENOSPC otherwise. */
  needRoomForExtents(count: number, syscall: string, path: string): void {
    this.needRoom(count * EXTENT_CELL, syscall, path);
  }

  /** May the metadata grow by `extra` bytes? Only if the next checkpoint then still fits, with the spare. */
  roomFor(extra: number): boolean {
    const need = this.ckptBlocksWith(extra) + RESERVE_SPARE;
    if (this.alloc.free >= need) return true;
    // Short: the frees readers no longer hold back may make the room.
    this.alloc.reclaim();
    return this.alloc.free >= need;
  }

  /** `roomFor`, or ENOSPC before anything changes. */
  needRoom(extra: number, syscall: string, path: string): void {
    if (!this.roomFor(extra)) throw poolError('ENOSPC', syscall, path);
  }

  /**
   * Room to map `runs` ([page, count, block] triples of a clone's source) into a file: an extent
   * record each, the splits at both ends of the target range, and a reference-count entry for each
   * block shared for the first time. ENOSPC otherwise.
   */
  needRoomToShare(runs: readonly number[], syscall: string, path: string): void {
    let grows = STEP_BYTES + (runs.length / 3) * EXTENT_CELL;
    const shared = this.alloc.shared;
    for (let i = 0; i < runs.length; i += 3) {
      const end = (runs[i + 2] as number) + (runs[i + 1] as number);
      for (let b = runs[i + 2] as number; b < end; b++) if (!shared.has(b)) grows += SHARED_CELL;
    }
    this.needRoom(grows, syscall, path);
  }

  /**
   * Count every inode again (after a load of every inode: the checkpoint and the replay built them), then
   * keep a bounded cache of them from here on.
   */
  measure(): void {
    this.#bytes = 0;
    this.inodeCount = this.inodes.size;
    this.nameless.clear();
    for (const inode of this.inodes.values()) {
      this.#bytes += this.#inodeBytes(inode);
      if (inode.name === null) this.nameless.add(inode);
    }
    this.inodes.limit = InodeCache.defaultLimit;
    this.refreshKeep();
  }

  #inodeBytes(inode: PoolInode): number {
    const extents = inode.extents.length;
    inode.countedExtents = extents;
    return INODE_CELLS + 2 * nameBytes(inode.name) + extents * EXTENT_CELL;
  }

  /** Data allocations leave the next checkpoint's blocks, plus what one step may add to it, plus the spare. */
  refreshKeep(): void {
    this.alloc.keep = this.ckptBlocksWith(STEP_BYTES) + RESERVE_SPARE;
  }

  addInode(ino: number, name: string | null, ctimeMs: number): PoolInode {
    const inode = this.#makeInode(ino, name, ctimeMs);
    if (name !== null) this.names.set(name, inode);
    this.inodeCount++;
    this.treeInodes.add(ino);
    // Made by the call running now, which holds it until its handle does (a create commits before the handle
    // opens it, and that commit may checkpoint and sweep): among the recently used, as a lookup's inode is.
    this.inodes.use(inode);
    this.inodes.added();
    this.#bytes += this.#inodeBytes(inode);
    this.refreshKeep();
    return inode;
  }

  /** An inode as the checkpoint's trees hold it: not a change, and counted by the `measure` that follows the load. */
  loadInode(ino: number, name: string | null, ctimeMs: number): PoolInode {
    const inode = this.#makeInode(ino, name, ctimeMs);
    if (name !== null) this.names.load(name, inode);
    else this.nameless.add(inode);
    return inode;
  }

  #makeInode(ino: number, name: string | null, ctimeMs: number): PoolInode {
    return this.#adopt(new PoolInode(ino, name, this.path, ctimeMs));
  }

  #adopt(inode: PoolInode): PoolInode {
    this.inodes.set(inode.ino, inode);
    if (inode.ino >= this.nextIno) this.nextIno = inode.ino + 1;
    return inode;
  }

  /** Give `inode` the name `name` (null: unlinked while open), keeping the name index and the count. */
  rename(inode: PoolInode, name: string | null): void {
    if (inode.name !== null && this.names.get(inode.name) === inode) this.names.delete(inode.name);
    this.treeInodes.add(inode.ino);
    this.#bytes += 2 * (nameBytes(name) - nameBytes(inode.name));
    inode.name = name;
    if (name !== null) {
      this.names.set(name, inode);
      this.nameless.delete(inode);
    } else {
      this.nameless.add(inode);
    }
    this.refreshKeep();
  }

  /** Forget `inode` (its blocks were given back already). */
  dropInode(inode: PoolInode): void {
    if (inode.name !== null && this.names.get(inode.name) === inode) this.names.delete(inode.name);
    this.#bytes -= INODE_CELLS + 2 * nameBytes(inode.name) + Math.max(0, inode.countedExtents) * EXTENT_CELL;
    inode.countedExtents = -1;
    this.forget(inode.ino);
    this.inodes.delete(inode.ino);
    this.inodeCount--;
    this.nameless.delete(inode);
    this.dirtyInodes.delete(inode);
    this.refreshKeep();
  }

  /**
   * Inode `ino` is gone: the trees must lose it, unless it was made since the last checkpoint (numbers only
   * grow, so the checkpoint's `nextIno` tells), and then they never had it. So files created and removed
   * between two checkpoints cost the checkpoint nothing.
   */
  forget(ino: number): void {
    if (ino >= this.sb.nextIno) this.treeInodes.delete(ino);
    else this.treeInodes.add(ino);
  }

  /** `inode` changed (mappings, attributes): it goes out with the next commit, and is counted again. */
  touch(inode: PoolInode): void {
    this.dirtyInodes.add(inode);
    this.treeInodes.add(inode.ino);
    this.#recount(inode);
  }

  /** After a replay over a lazily opened pool: the records mapped extents without counting them (`#recount`). */
  recountReplayed(): void {
    for (const ino of this.treeInodes) {
      const inode = this.inodes.peek(ino);
      if (inode !== undefined) this.#recount(inode);
    }
  }

  #recount(inode: PoolInode): void {
    const before = inode.countedExtents;
    if (before < 0) return;
    const now = inode.extents.length;
    if (now === before) return;
    inode.countedExtents = now;
    this.#bytes += (now - before) * EXTENT_CELL;
    this.refreshKeep();
  }

  /** After a commit written and durable at once: nothing is pending, every mapping is committed. */
  committed(): void {
    if (this.#flightInodes.size > 0 || this.alloc.flying) {
      this.beginFlight();
      this.endFlight();
      return;
    }
    // Nothing in flight (every synchronous commit but one taking a flight over): straight to committed.
    for (const inode of this.dirtyInodes) {
      if (inode.dirtyHi > inode.dirtyLo) inode.extents.clearState(ExtentState.UNCOMMITTED, inode.dirtyLo, inode.dirtyHi);
      inode.dirtyLo = Infinity;
      inode.dirtyHi = 0;
      inode.attrDirty = false;
      inode.timeDirty = false;
      // Committed extents may merge with their neighbours.
      this.#recount(inode);
    }
    // Guarded: clearing a Set allocates a new table even when it is empty, at every commit.
    if (this.dirtyInodes.size > 0) this.dirtyInodes.clear();
    if (this.namespaceOps.length > 0) this.namespaceOps.length = 0;
    this.alloc.committed();
    this.refreshKeep();
  }

  /**
   * The pending changes went into a commit now being written (encoded already): they stop being
   * pending, so later changes gather for the next commit, but what only durability allows waits for
   * `endFlight` -- freed blocks stay taken, and new mappings stay F_DIRTY (UNCOMMITTED).
   */
  beginFlight(): void {
    for (const inode of this.dirtyInodes) {
      this.#flightInodes.add(inode);
      if (inode.dirtyHi > inode.dirtyLo) {
        const was = this.#flightRanges.get(inode);
        this.#flightRanges.set(inode, was === undefined ? [inode.dirtyLo, inode.dirtyHi] : [Math.min(was[0], inode.dirtyLo), Math.max(was[1], inode.dirtyHi)]);
      }
      inode.dirtyLo = Infinity;
      inode.dirtyHi = 0;
      inode.attrDirty = false;
      inode.timeDirty = false;
    }
    if (this.dirtyInodes.size > 0) this.dirtyInodes.clear();
    if (this.namespaceOps.length > 0) this.namespaceOps.length = 0;
    this.alloc.beginFlight();
  }

  /** Is `inode` changed by a commit begun and not yet known durable? */
  inFlight(inode: PoolInode): boolean {
    return this.#flightInodes.size > 0 && this.#flightInodes.has(inode);
  }

  /** Every commit begun is durable. */
  endFlight(): void {
    for (const [inode, [lo, hi]] of this.#flightRanges) {
      if (this.inodes.peek(inode.ino) !== inode) continue;
      // A range mapped again since stays F_DIRTY for the commit that will carry it.
      const dLo = Math.max(lo, Math.min(hi, inode.dirtyLo));
      const dHi = Math.min(hi, Math.max(lo, inode.dirtyHi));
      if (dHi > dLo) {
        if (dLo > lo) inode.extents.clearState(ExtentState.UNCOMMITTED, lo, dLo);
        if (hi > dHi) inode.extents.clearState(ExtentState.UNCOMMITTED, dHi, hi);
      } else {
        inode.extents.clearState(ExtentState.UNCOMMITTED, lo, hi);
      }
      // Committed extents may merge with their neighbours.
      this.#recount(inode);
    }
    if (this.#flightRanges.size > 0) this.#flightRanges.clear();
    if (this.#flightInodes.size > 0) this.#flightInodes.clear();
    this.alloc.release();
    this.refreshKeep();
  }
}

/** UTF-8 bytes of a name as stored (names are well-formed, so this is exact). */
function nameBytes(name: string | null): number {
  return name === null ? 0 : Buffer.byteLength(name, 'utf8');
}
