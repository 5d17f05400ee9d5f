import type { PoolInode } from './inode';
import { NO_BLOCK } from './layout';
import type { PoolState } from './state';

/** Give back the blocks of pages `[from, to)` of `inode` (a reference each) and make them a hole. */
export function freePages(s: PoolState, inode: PoolInode, from: number, to: number): void {
  if (to <= from) return;
  const runs: number[] = [];
  inode.extents.forEach(from, to, (_page, count, block) => runs.push(block, count));
  if (runs.length === 0) return;
  for (let i = 0; i < runs.length; i += 2) s.alloc.unref(runs[i] as number, runs[i + 1] as number);
  inode.extents.set(from, to - from, NO_BLOCK, 0);
  inode.markDirty(from, to - from);
  s.touch(inode);
}

/** Free every block of `inode`; with `drop` (the default) the inode goes too. */
export function freeInode(s: PoolState, inode: PoolInode, drop = true): void {
  freePages(s, inode, 0, inode.extents.end);
  if (!drop) return;
  if (inode.name !== null && s.names.get(inode.name) === inode) s.names.delete(inode.name);
  s.inodes.delete(inode.ino);
  s.dirtyInodes.delete(inode);
  s.namespaceOps.push({ op: 'drop', ino: inode.ino });
}
