import type { PoolInode } from './inode';
import type { PageLookup } from './extent-map';
import { NO_BLOCK } from './layout';
import type { PoolState } from './state';

/** Give back the blocks of pages `[from, to)` of `inode` (a reference each) and make them a hole. */
export function freePages(s: PoolState, inode: PoolInode, from: number, to: number): void {
  if (to <= from) return;
  const runs: number[] = [];
  inode.extents.forEach(from, to, (_page, count, block) => runs.push(block, count));
  if (runs.length === 0) return;
  // Freeing pages inside one extent splits it in two: one more extent for the next checkpoint.
  if (splits(inode, from, to)) s.needRoomForExtents(1, 'fallocate', inode.path);
  for (let i = 0; i < runs.length; i += 2) s.alloc.unref(runs[i] as number, runs[i + 1] as number);
  inode.extents.set(from, to - from, NO_BLOCK, 0);
  inode.markDirty(from, to - from);
  s.touch(inode);
}

/** Free every block of `inode`; with `drop` (the default) the inode goes too. */
export function freeInode(s: PoolState, inode: PoolInode, drop = true): void {
  freePages(s, inode, 0, inode.extents.end);
  if (!drop) return;
  s.dropInode(inode);
  s.namespaceOps.push({ op: 'drop', ino: inode.ino });
}

const look: PageLookup = { block: NO_BLOCK, state: 0, run: 0 };

/** Do pages `[from, to)` lie strictly inside one extent (mapped on both sides, contiguously)? */
function splits(inode: PoolInode, from: number, to: number): boolean {
  if (from === 0) return false;
  const before = inode.extents.lookup(from - 1, look);
  return before.block !== NO_BLOCK && before.run > to - from + 1;
}
