import { corrupt } from './errors';
import { ExtentState } from './extent-map';
import type { PoolInode } from './inode';
import { FILE_SIZE_MAX, NO_BLOCK, dataEnd, dataStart, overlapsBitmapCopies, type Superblock } from './layout';
import { INLINE_EXTENTS, decodeExtent, extentKey, inoKey, type InodeRecord } from './meta/records';
import type { PoolTrees } from './meta/trees';

/**
 * Give `inode` (new, with no extents) what its record `r` in the trees says: size, times, and extents,
 * inline or read from the extents tree, each checked against the layout of `sb` (addExtent). What holds
 * across files (no block mapped twice, every mapped block used) is the load's audit after a crash, and
 * `check`'s: an inode read on demand is checked on its own.
 */
export function fillFromTrees(trees: PoolTrees, sb: Superblock, inode: PoolInode, r: InodeRecord, path: string): PoolInode {
  // The whole load reports this as a problem and refuses writing; an inode read alone is refused itself.
  if (!Number.isSafeInteger(r.size) || r.size < 0 || r.size > FILE_SIZE_MAX) throw corrupt(path, `inode ${inode.ino}`, 0, `size ${r.size} is out of range (at most ${FILE_SIZE_MAX})`);
  inode.size = r.size;
  inode.mtimeMs = r.mtimeMs;
  if (r.extents !== null) {
    for (const e of r.extents) addExtent(sb, path, inode, e.page, e.count, e.block, e.state);
    return inode;
  }
  if (r.extentCount <= INLINE_EXTENTS) throw corrupt(path, `inode ${inode.ino}`, 0, `${r.extentCount} extents kept out of line`);
  let n = 0;
  for (const [k, value] of trees.extents.entries({ from: extentKey(inode.ino, 0), prefix: inoKey(inode.ino) })) {
    const e = decodeExtent(k, value, path);
    addExtent(sb, path, inode, e.page, e.count, e.block, e.state);
    n++;
  }
  if (n !== r.extentCount) throw corrupt(path, `inode ${inode.ino}`, 0, `${r.extentCount} extents recorded, ${n} in the extents tree`);
  return inode;
}

/** Map an extent of the trees into `inode`, after the checks every extent read from them gets. */
export function addExtent(sb: Superblock, path: string, inode: PoolInode, page: number, count: number, block: number, state: number): void {
  const bad = (why: string): Error => corrupt(path, `inode ${inode.ino}`, 0, why);
  if (count < 1 || page + count > NO_BLOCK) throw bad(`extent at page ${page} of ${count} pages`);
  if (inode.extents.end > page) throw bad(`extent at page ${page} overlaps the one before`);
  if (block < dataStart(sb) || block + count > dataEnd(sb)) throw bad(`extent at page ${page} (blocks ${block}+${count}) is outside the data area`);
  if (overlapsBitmapCopies(sb, block, count)) throw bad(`extent at page ${page} (blocks ${block}+${count}) is in a bitmap copy`);
  if ((state & ~ExtentState.UNWRITTEN) !== 0) throw bad(`extent at page ${page} has state ${state}`);
  inode.extents.set(page, count, block, state);
}
