import type { ByteRange } from '../device/types';
import { IomapFlag, IomapOp, IomapType, PAGE_SIZE } from '../iomap/constants';
import { Errno } from '../iomap/errno';
import { IomapIter } from '../iomap/iter';
import type { IomapOps } from '../iomap/types';
import { daxCopyAround } from './copy-around';
import { daxDirectAccess } from './direct-access';
import { daxError } from './errors';
import { invalidateRangeStep, rangeCursor, type RangeCursor } from './invalidate';
import { blockOn, bodyContext, finalError, iterateAsync, iterateSync, type BodyContext } from './iterate';
import { iomapPgoff } from './pgoff';
import { zeroPageRange } from './poison';
import type { DaxInode } from './types';

interface ZeroContext extends BodyContext {
  didZero: boolean;
  invalidating: boolean;
  readonly cursor: RangeCursor;
  bad: readonly ByteRange[] | null;
}

function fail(c: ZeroContext, it: IomapIter<DaxInode>, errno: number, pos: number): number {
  c.error = daxError(errno, 'fallocate', { path: it.inode.path, offset: pos });
  return errno;
}

/** dax_zero_iter -- zero one mapping: skip what already reads as zero, whole pages by block write. */
function daxZeroIter(it: IomapIter<DaxInode>, c: ZeroContext): number {
  const iomap = it.iomap;
  const src = it.readSource();
  let length = it.length();
  if (src.type === IomapType.HOLE || src.type === IomapType.UNWRITTEN) return it.advance(length);
  const shared = (iomap.flags & IomapFlag.SHARED) !== 0;
  if (c.fresh) {
    c.fresh = false;
    c.invalidating = shared;
    c.cursor.next = Math.floor(it.pos / PAGE_SIZE);
    c.bad = null;
  }
  if (c.invalidating) {
    // The range's sharing state changes under CoW: its entries and mappings go first.
    const m = it.inode.mapping;
    const last = Math.floor((it.pos + length - 1) / PAGE_SIZE);
    const b = invalidateRangeStep(m, last, c.cursor);
    if (b !== null) return blockOn(c, m, b);
    const first = Math.floor(it.pos / PAGE_SIZE);
    m.unmapPages(first, last - first + 1, false);
    c.invalidating = false;
  }
  const dev = iomap.daxDev;
  if (dev === null) return fail(c, it, -Errno.EIO, it.pos);
  while (length > 0) {
    const pos = it.pos;
    const off = pos % PAGE_SIZE;
    const size = Math.min(PAGE_SIZE - off, length);
    const pgoff = iomapPgoff(iomap, pos);
    if (off === 0 && size === PAGE_SIZE) {
      c.bad ??= dev.badblocks();
      zeroPageRange(dev, pgoff, c.bad);
    } else {
      const w = daxDirectAccess(dev, pgoff, 1);
      if (typeof w === 'number') return fail(c, it, -Errno.EIO, pos);
      dev.fill(pgoff * PAGE_SIZE + off, 0, size);
      if (shared) {
        const r = daxCopyAround(pos, size, PAGE_SIZE, src, iomap);
        if (r < 0) return fail(c, it, r, pos);
      }
    }
    c.didZero = true;
    const st = it.advance(size);
    if (st < 0) return st;
    length -= size;
  }
  return 0;
}

/**
 * daxZeroRange -- docs/semantics.md §6.2 (dax_zero_range): make `[pos, pos+len)` read as zeros. Holes and
 * unwritten extents are left untouched; whole aligned pages are zeroed by block write (clearing
 * poison); partial pages by store (EIO on poison). Resolves to whether anything was zeroed.
 */
export async function daxZeroRange(inode: DaxInode, pos: number, len: number, ops: IomapOps<DaxInode>): Promise<boolean> {
  if (len <= 0) return false;
  const it = new IomapIter(inode, pos, len, IomapOp.DAX | IomapOp.ZERO);
  const c = zeroContext();
  return zeroResult(await iterateAsync(it, ops, daxZeroIter, c), it, c, pos);
}

/**
 * daxZeroRangeSync -- daxZeroRange without a promise, for synchronous callers. Where daxZeroRange
 * would sleep on an entry lock (zeroing shared blocks whose entries a fault or writeback holds), it
 * fails with EAGAIN, possibly after zeroing a prefix of the range.
 */
export function daxZeroRangeSync(inode: DaxInode, pos: number, len: number, ops: IomapOps<DaxInode>): boolean {
  if (len <= 0) return false;
  const it = new IomapIter(inode, pos, len, IomapOp.DAX | IomapOp.ZERO);
  const c = zeroContext();
  return zeroResult(iterateSync(it, ops, daxZeroIter, c), it, c, pos);
}

function zeroContext(): ZeroContext {
  return { ...bodyContext(), didZero: false, invalidating: false, cursor: rangeCursor(0), bad: null };
}

function zeroResult(r: number, it: IomapIter<DaxInode>, c: ZeroContext, pos: number): boolean {
  if (r < 0) throw finalError(r, it, c) ?? daxError(r, 'fallocate', { path: it.inode.path, offset: pos });
  return c.didZero;
}
