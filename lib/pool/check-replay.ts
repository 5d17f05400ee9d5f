import type { DaxDevice } from '../device/types';
import { loadShared, pageClaims } from './checkpoint';
import { corrupt } from './errors';
import type { InodeCache } from './inode-cache';
import { Journal, type ReplayResult } from './journal';
import { BLOCK, type Superblock } from './layout';
import { pickSuperblock } from './load';
import { walkTree } from './meta/walk';
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
  readonly inodes: InodeCache;
  /** Blocks holding metadata: the bitmap copies and every tree page. */
  readonly meta: Uint32Array;
  readonly replay: ReplayResult;
  readonly usedBackup: boolean;
}

/**
 * Read the pool on `device` as `SparsePool` says. What cannot be decoded, a tree whose shape is wrong and
 * a journal record that does not apply are ERR_PMEMDAX_CORRUPT, as for a load. `live`: a writer may be
 * appending to the journal (a record that does not check out ends it, as Journal.more says).
 */
export function replaySparse(device: DaxDevice, path: string, live = false): SparsePool {
  const { sb, usedBackup } = pickSuperblock(device, path);
  if (sb.blocks * BLOCK > device.size) throw corrupt(path, 'superblock', 0, `pool of ${sb.blocks * BLOCK} bytes on a device of ${device.size}`);
  const s = new PoolState(sb, path, device);
  s.nextIno = sb.nextIno;
  s.alloc.bitmap.set(s.bitmapCopies.read(device, path, sb, s.alloc.bitmap.length));
  const meta = treeShape(s, sb);
  s.metaBlocks = meta;
  const replay = new Journal(device, sb).replay(s, live);
  return { sb, state: s, inodes: s.inodes, meta, replay, usedBackup };
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
  return meta;
}
