import { IomapFlag, IomapOp, IomapType, PAGE_SIZE } from '../iomap/constants';
import { Errno } from '../iomap/errno';
import { IomapIter } from '../iomap/iter';
import type { IomapOps } from '../iomap/types';
import { daxDirectAccess } from './direct-access';
import { daxError } from './errors';
import { invalidateRangeStep, rangeCursor, type RangeCursor } from './invalidate';
import { blockOn, bodyContext, finalError, iterateAsync, type BodyContext } from './iterate';
import { iomapDeviceOffset, iomapPgoff } from './pgoff';
import { SCRATCH_MAX, stagingBuffer } from './scratch';
import type { DaxInode } from './types';

interface UnshareContext extends BodyContext {
  invalidating: boolean;
  readonly cursor: RangeCursor;
}

function fail(c: UnshareContext, it: IomapIter<DaxInode>, pos: number): number {
  c.error = daxError(-Errno.EIO, 'fallocate', { path: it.inode.path, offset: pos });
  return -Errno.EIO;
}

/** dax_unshare_iter -- copy one shared mapping's old blocks into its new private destination. */
function daxUnshareIter(it: IomapIter<DaxInode>, c: UnshareContext): number {
  const iomap = it.iomap;
  const src = it.srcmap;
  if ((iomap.flags & IomapFlag.SHARED) === 0 || src.type !== IomapType.MAPPED) return it.advanceFull();
  // Whole blocks move, not just the requested bytes.
  const lo = it.pos - (it.pos % PAGE_SIZE);
  const hi = Math.ceil((it.pos + it.length()) / PAGE_SIZE) * PAGE_SIZE;
  const m = it.inode.mapping;
  if (c.fresh) {
    c.fresh = false;
    c.invalidating = true;
    c.cursor.next = lo / PAGE_SIZE;
  }
  if (c.invalidating) {
    const b = invalidateRangeStep(m, hi / PAGE_SIZE - 1, c.cursor);
    if (b !== null) return blockOn(c, m, b);
    m.unmapPages(lo / PAGE_SIZE, (hi - lo) / PAGE_SIZE, false);
    c.invalidating = false;
  }
  const ddev = iomap.daxDev;
  const sdev = src.daxDev;
  if (ddev === null || sdev === null) return fail(c, it, lo);
  const pages = (hi - lo) / PAGE_SIZE;
  if (typeof daxDirectAccess(ddev, iomapPgoff(iomap, lo), pages) === 'number') return fail(c, it, lo);
  for (let p = lo; p < hi; p += SCRATCH_MAX) {
    const n = Math.min(SCRATCH_MAX, hi - p);
    if (typeof daxDirectAccess(sdev, iomapPgoff(src, p), n / PAGE_SIZE) === 'number') return fail(c, it, p);
    const tmp = stagingBuffer(n);
    sdev.copySafe(iomapDeviceOffset(src, p), tmp);
    ddev.copy(iomapDeviceOffset(iomap, p), tmp);
  }
  return it.advanceFull();
}

/**
 * daxFileUnshare -- docs/semantics.md §6.3: give `[pos, pos+len)` (clipped to EOF) private copies of its
 * shared blocks, with flags DAX|WRITE|UNSHARE; the contents do not change. The filesystem commits
 * the new blocks in its `end`.
 */
export async function daxFileUnshare(inode: DaxInode, pos: number, len: number, ops: IomapOps<DaxInode>): Promise<void> {
  const size = inode.size;
  if (pos < 0 || pos >= size) return;
  len = Math.min(len, size - pos);
  if (len <= 0) return;
  const it = new IomapIter(inode, pos, len, IomapOp.DAX | IomapOp.WRITE | IomapOp.UNSHARE);
  const c: UnshareContext = { ...bodyContext(), invalidating: false, cursor: rangeCursor(0) };
  const r = await iterateAsync(it, ops, daxUnshareIter, c);
  if (r < 0) throw finalError(r, it, c) ?? daxError(r, 'fallocate', { path: inode.path, offset: pos });
}
