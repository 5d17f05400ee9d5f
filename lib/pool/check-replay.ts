import type { DaxDevice } from '../device/types';
import { loadShared, pageClaims } from './checkpoint';
import { corrupt } from './errors';
import type { PoolInode } from './inode';
import { Journal, type ReplayResult } from './journal';
import { BLOCK, type Superblock } from './layout';
import { pickSuperblock } from './load';
import { INLINE_EXTENTS, decodeExtent, decodeInode, decodeU32, extentKey, inoKey, nameKey } from './meta/records';
import { walkTree } from './meta/walk';
import { NameTable } from './name-table';
import { PoolState } from './state';

/**
 * The pool as `check` sees it without loading it: the trees of the last checkpoint walked for their shape
 * (every page claimed once, in order, at one leaf depth), the shared tree and the bitmap read, and the
 * journal replayed over maps that read an inode or a name from the trees the first time a record needs it.
 * The state then holds only what the journal touched; for every other inode the trees are the answer.
 */
export interface SparsePool {
  readonly sb: Superblock;
  readonly state: PoolState;
  readonly inodes: FaultingInodes;
  /** Blocks holding metadata: the bitmap copies and every tree page. */
  readonly meta: Uint32Array;
  readonly replay: ReplayResult;
  readonly usedBackup: boolean;
}

/** Inodes by number: one the journal has not touched is read from the trees when first asked for. */
export class FaultingInodes extends Map<number, PoolInode> {
  /** Inodes the journal removed: the trees still hold them, the pool does not. */
  readonly gone = new Set<number>();
  /** Inodes read from the trees (each once at most: then the map, or `gone`, holds it). */
  fromTrees = 0;
  #fault: (ino: number) => PoolInode | undefined = () => undefined;

  setFault(fault: (ino: number) => PoolInode | undefined): void {
    this.#fault = fault;
  }

  override get(ino: number): PoolInode | undefined {
    const got = super.get(ino);
    if (got !== undefined || this.gone.has(ino)) return got;
    const read = this.#fault(ino);
    if (read !== undefined) this.fromTrees++;
    return read;
  }

  override has(ino: number): boolean {
    return this.get(ino) !== undefined;
  }

  override set(ino: number, inode: PoolInode): this {
    this.gone.delete(ino);
    return super.set(ino, inode);
  }

  override delete(ino: number): boolean {
    this.gone.add(ino);
    return super.delete(ino);
  }

  /** Does the journal decide inode `ino` (read, changed, created or removed by it), rather than the trees? */
  decides(ino: number): boolean {
    return super.has(ino) || this.gone.has(ino);
  }
}

/** Names: one the journal has not touched is looked up in the names tree, then its inode read. */
class FaultingNames extends NameTable {
  readonly #gone = new Set<string>();
  readonly #holder: (name: string) => PoolInode | undefined;

  constructor(holder: (name: string) => PoolInode | undefined, path: string, committed: ConstructorParameters<typeof NameTable>[0]) {
    super(committed, path);
    this.#holder = holder;
  }

  override get(name: string): PoolInode | undefined {
    const got = super.get(name);
    if (got !== undefined || this.#gone.has(name)) return got;
    const inode = this.#holder(name);
    return inode !== undefined && inode.name === name && super.get(name) === inode ? inode : undefined;
  }

  override has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  override load(name: string, inode: PoolInode): void {
    if (!this.#gone.has(name)) super.load(name, inode);
  }

  override set(name: string, inode: PoolInode): void {
    this.#gone.delete(name);
    super.set(name, inode);
  }

  override delete(name: string): boolean {
    this.#gone.add(name);
    return super.delete(name);
  }
}

/**
 * Read the pool on `device` as `SparsePool` says. What cannot be decoded, a tree whose shape is wrong and
 * a journal record that does not apply are ERR_PMEMDAX_CORRUPT, as for a load.
 */
export function replaySparse(device: DaxDevice, path: string): SparsePool {
  const { sb, usedBackup } = pickSuperblock(device, path);
  if (sb.blocks * BLOCK > device.size) throw corrupt(path, 'superblock', 0, `pool of ${sb.blocks * BLOCK} bytes on a device of ${device.size}`);
  const inodes = new FaultingInodes();
  const s = new PoolState(sb, path, device, (state) => ({
    inodes,
    names: new FaultingNames((name) => {
      const v = state.trees.names.get(nameKey(name));
      return v === null ? undefined : inodes.get(decodeU32(v, 'names tree', path));
    }, path, () => state.trees.names),
  }));
  inodes.setFault((ino) => readInode(s, ino));
  s.nextIno = sb.nextIno;
  s.alloc.bitmap.set(s.bitmapCopies.read(device, path, sb, s.alloc.bitmap.length));
  const meta = treeShape(s, sb);
  s.metaBlocks = meta;
  const replay = new Journal(device, sb).replay(s);
  return { sb, state: s, inodes, meta, replay, usedBackup };
}

/**
 * Walk every tree for its shape, claiming each page once, and read the shared tree into the allocator
 * (its size is the shared blocks', not the files'). Returns the metadata blocks as bits.
 */
function treeShape(s: PoolState, sb: Superblock): Uint32Array {
  const path = s.path;
  const { meta, claim } = pageClaims(sb, s.alloc.bitmap.length, path);
  const store = s.trees.store;
  const roots = sb.roots;
  const none = (): void => {};
  let inodeCount = 0;
  let pages = walkTree(store, path, 'inodes', roots.inodes, claim, () => inodeCount++);
  pages += walkTree(store, path, 'names', roots.names, claim, none);
  pages += walkTree(store, path, 'extents', roots.extents, claim, none);
  pages += loadShared(store, s, sb, claim);
  if (pages !== sb.treePages) throw corrupt(path, 'superblock', 0, `${sb.treePages} tree pages recorded, ${pages} reached`);
  if (inodeCount !== sb.inodeCount) throw corrupt(path, 'superblock', 0, `${sb.inodeCount} inodes recorded, ${inodeCount} in the inodes tree`);
  if (s.alloc.shared.size !== sb.sharedCount) throw corrupt(path, 'superblock', 0, `${sb.sharedCount} reference counts recorded, ${s.alloc.shared.size} in the shared tree`);
  return meta;
}

/** Inode `ino` as the trees hold it, made part of the state; undefined when they do not hold it. */
function readInode(s: PoolState, ino: number): PoolInode | undefined {
  const v = s.trees.inodes.get(inoKey(ino));
  if (v === null) return undefined;
  const r = decodeInode(ino, v, s.path);
  const inode = s.loadInode(ino, r.name, r.ctimeMs);
  inode.size = r.size;
  inode.mtimeMs = r.mtimeMs;
  if (r.extents !== null) {
    for (const e of r.extents) inode.extents.set(e.page, e.count, e.block, e.state);
    return inode;
  }
  if (r.extentCount <= INLINE_EXTENTS) throw corrupt(s.path, `inode ${ino}`, 0, `${r.extentCount} extents kept out of line`);
  for (const [k, value] of s.trees.extents.entries({ from: extentKey(ino, 0), prefix: inoKey(ino) })) {
    const e = decodeExtent(k, value, s.path);
    inode.extents.set(e.page, e.count, e.block, e.state);
  }
  return inode;
}
