import type { DaxDevice } from '../../device/types';
import { ExtentState } from '../extent-map';
import type { PoolInode } from '../inode';
import { NO_BLOCK, TREE_NAMES, type TreeRoots } from '../layout';
import { BTree } from './btree';
import { DevicePageStore, type PageBlocks } from './page-store';
import { BRANCH, HEADER, KEY_MAX, LEAF, PAGE, VALUE_MAX, cellBytes, childOf, countOf, kindOf } from './page';
import {
  INLINE_EXTENTS, blockKey, decodeInode, encodeExtent, encodeInode, encodeU32, extentKey, inoKey, nameKey, type ExtentRecord,
} from './records';

/** How full a full rewrite packs its pages (BTree.fromSorted). */
const FILL = 0.9;
/** Tree bytes of an inode besides its name and extents: its cell in the inodes tree, and its cell in the names tree. */
export const INODE_CELLS = cellBytes(LEAF, 4, 32) + cellBytes(LEAF, 0, 4);
/** Tree bytes of one extent: the larger of its cell in the extents tree and its inline record. */
export const EXTENT_CELL = cellBytes(LEAF, 8, 12);
/** Tree bytes of one reference count. */
export const SHARED_CELL = cellBytes(LEAF, 4, 4);

/** A full rewrite's leaves hold at least this many bytes of cells: a page filled to FILL, but for the largest cell. */
const LEAF_BYTES_MIN = Math.floor(FILL * (PAGE - HEADER)) - cellBytes(LEAF, KEY_MAX, VALUE_MAX);
/** Branches above that many leaves at most: a branch cell of the longest key, in a page filled to FILL, leaves a dozen children. */
const FANOUT_MIN = 12;

/**
 * Pages a full rewrite of trees whose cells take `bytes` needs at most: the leaves, the branches above them
 * (a tenth as many at most), and a part-filled page at every level of each tree.
 */
export function treePagesFor(bytes: number): number {
  const leaves = Math.ceil(bytes / LEAF_BYTES_MIN);
  const levels = 1 + Math.ceil(Math.log(leaves + 1) / Math.log(FANOUT_MIN));
  return leaves + Math.ceil(leaves / (FANOUT_MIN - 1)) + TREE_NAMES.length * levels;
}

/**
 * PoolTrees -- format 2's four metadata trees over one page store on the pool's device (docs/design.md,
 * "Metadata at device scale"). A checkpoint brings them up to date with the state in memory (`apply` for
 * the inodes and blocks changed since the last one, `rewrite` for all of them), `store.write()` stores the
 * changed pages in free blocks, the superblock switches to `roots()`, and `store.commit()` frees the pages
 * the new trees no longer reach; `reset` goes back to the committed trees instead.
 */
export class PoolTrees {
  readonly store: DevicePageStore;
  readonly #path: string;
  names: BTree;
  inodes: BTree;
  extents: BTree;
  shared: BTree;

  constructor(device: DaxDevice, path: string, blocks: PageBlocks, roots: TreeRoots) {
    this.#path = path;
    this.store = new DevicePageStore(device, path, blocks);
    this.names = new BTree(this.store, roots.names);
    this.inodes = new BTree(this.store, roots.inodes);
    this.extents = new BTree(this.store, roots.extents);
    this.shared = new BTree(this.store, roots.shared);
  }

  roots(): TreeRoots {
    return { names: this.names.root, inodes: this.inodes.root, extents: this.extents.root, shared: this.shared.root };
  }

  /** Drop the changes since the last checkpoint: the trees are the committed ones, `roots`, again. */
  reset(roots: TreeRoots): void {
    this.store.discard();
    for (const t of TREE_NAMES) this[t].root = roots[t];
  }

  /**
   * Bring the trees up to date for the inodes `inos` (changed, created or gone) and the shared blocks
   * `blocks` (reference count changed), as `inodeOf` and `refsOf` have them now.
   */
  apply(inos: Iterable<number>, inodeOf: (ino: number) => PoolInode | undefined, blocks: Iterable<number>, refsOf: (b: number) => number | undefined): void {
    const sorted = [...inos].sort((a, b) => a - b);
    const before = new Map<number, string | null>();
    // Old names and extents first: a name another inode takes in this checkpoint must not be deleted after it was put.
    for (const ino of sorted) {
      const v = this.inodes.get(inoKey(ino));
      if (v === null) continue;
      const old = decodeInode(ino, v, this.#path);
      before.set(ino, old.name);
      const now = inodeOf(ino);
      if (old.name !== null && old.name !== (now?.name ?? null)) {
        const key = nameKey(old.name);
        const owner = this.names.get(key);
        if (owner !== null && owner.readUInt32LE(0) === ino) this.names.delete(key);
      }
      if (old.extents === null) this.#dropExtents(ino);
      if (now === undefined) this.inodes.delete(inoKey(ino));
    }
    for (const ino of sorted) {
      const inode = inodeOf(ino);
      if (inode === undefined) continue;
      const extents = extentsOf(inode);
      const inline = extents.length <= INLINE_EXTENTS;
      this.inodes.put(inoKey(ino), encodeInode({
        ino, name: inode.name, size: inode.size, mtimeMs: inode.mtimeMs, ctimeMs: inode.ctimeMs, extentCount: extents.length, extents: inline ? extents : null,
      }));
      if (!inline) for (const e of extents) this.extents.put(extentKey(ino, e.page), encodeExtent(e));
      if (inode.name !== null && (!before.has(ino) || before.get(ino) !== inode.name)) this.names.put(nameKey(inode.name), encodeU32(ino));
    }
    for (const b of blocks) {
      const refs = refsOf(b);
      if (refs === undefined) this.shared.delete(blockKey(b));
      else this.shared.put(blockKey(b), encodeU32(refs));
    }
  }

  /**
   * New trees of everything in `inodes` and `shared`, written whole; the committed trees' pages are freed
   * by the commit. For a new pool, a grow, and a checkpoint whose changes would not fit by `apply`.
   */
  rewrite(inodes: Iterable<PoolInode>, shared: ReadonlyMap<number, number>): void {
    this.retireAll();
    const all = [...inodes].sort((a, b) => a.ino - b.ino);
    const names = all.filter((i) => i.name !== null).map((i) => [nameKey(i.name as string), encodeU32(i.ino)] as const);
    names.sort((a, b) => Buffer.compare(a[0], b[0]));
    const out: (readonly [Buffer, Buffer])[] = [];
    const inodeEntries = all.map((inode) => {
      const extents = extentsOf(inode);
      const inline = extents.length <= INLINE_EXTENTS;
      if (!inline) for (const e of extents) out.push([extentKey(inode.ino, e.page), encodeExtent(e)]);
      const value = encodeInode({
        ino: inode.ino, name: inode.name, size: inode.size, mtimeMs: inode.mtimeMs, ctimeMs: inode.ctimeMs, extentCount: extents.length, extents: inline ? extents : null,
      });
      return [inoKey(inode.ino), value] as const;
    });
    const blocks = [...shared].sort((a, b) => a[0] - b[0]).map(([b, refs]) => [blockKey(b), encodeU32(refs)] as const);
    this.names = BTree.fromSorted(this.store, names, FILL);
    this.inodes = BTree.fromSorted(this.store, inodeEntries, FILL);
    this.extents = BTree.fromSorted(this.store, out, FILL);
    this.shared = BTree.fromSorted(this.store, blocks, FILL);
  }

  /** Every page of the trees as they are is released (free once the trees replacing them are committed). */
  retireAll(): void {
    for (const t of TREE_NAMES) {
      forEachPage(this.store, this[t].root, (no) => this.store.release(no));
      this[t].root = NO_BLOCK;
    }
  }

  #dropExtents(ino: number): void {
    const keys: Buffer[] = [];
    for (const [key] of this.extents.entries({ prefix: inoKey(ino) })) keys.push(Buffer.from(key));
    for (const key of keys) this.extents.delete(key);
  }
}

/**
 * The extents of `inode` as records: the committed state bits only, and neighbours that continue each other
 * in pages and blocks with the same bits as one record (in memory a mapping not yet committed stays apart
 * from the committed one before it). So the trees hold what a load builds, and the count the superblock
 * records (the reserve rule's) agrees with them.
 */
export function extentsOf(inode: PoolInode): ExtentRecord[] {
  const out: { page: number; count: number; block: number; state: number }[] = [];
  inode.extents.forEach(0, Infinity, (page, count, block, state) => {
    const bits = state & ExtentState.UNWRITTEN;
    const last = out[out.length - 1];
    if (last !== undefined && last.page + last.count === page && last.block + last.count === block && last.state === bits) last.count += count;
    else out.push({ page, count, block, state: bits });
  });
  return out;
}

/** Every page reachable from `root`, children before their parent. */
export function forEachPage(store: { page(no: number): Buffer }, root: number, visit: (no: number) => void): void {
  if (root === NO_BLOCK) return;
  const p = store.page(root);
  if (kindOf(p) === BRANCH) {
    const n = countOf(p);
    const children: number[] = [];
    for (let i = 0; i < n; i++) children.push(childOf(p, i));
    for (const c of children) forEachPage(store, c, visit);
  }
  visit(root);
}
