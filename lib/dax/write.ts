import { IomapOp, PAGE_SIZE } from '../iomap/constants';
import { Errno } from '../iomap/errno';
import { IomapIter } from '../iomap/iter';
import type { IomapOps } from '../iomap/types';
import { daxError } from './errors';
import { finalError, iterateAsync, iterateSync } from './iterate';
import { anyLocked } from './lock';
import type { DaxRwOptions } from './read';
import { daxIomapIter, rwContext, type RwContext } from './rw-iter';
import type { DaxInode } from './types';

function check(inode: DaxInode, pos: number): void {
  if (pos < 0 || !Number.isSafeInteger(pos)) throw daxError(-Errno.EINVAL, 'write', { path: inode.path, offset: pos });
}

/**
 * A write that must not sleep refuses up front when an entry in its range is locked: deciding later,
 * after the filesystem allocated, would leave new blocks behind a zero-page entry it could not drop.
 * Nothing can lock an entry while the synchronous write runs, so the check holds to the end.
 */
function refuseIfLocked(inode: DaxInode, pos: number, len: number): void {
  const m = inode.mapping;
  if (m.empty) return;
  if (anyLocked(m, Math.floor(pos / PAGE_SIZE), Math.floor((pos + len - 1) / PAGE_SIZE))) {
    throw daxError(-Errno.EAGAIN, 'write', { path: inode.path, offset: pos });
  }
}

function flagsFor(opts: DaxRwOptions): number {
  return IomapOp.DAX | IomapOp.WRITE | (opts.nowait === true ? IomapOp.NOWAIT : 0);
}

function finish(it: IomapIter<DaxInode>, c: RwContext, r: number, pos: number): number {
  const done = it.pos - pos;
  if (done > 0) return done;
  if (r < 0) throw finalError(r, it, c) ?? daxError(r, 'write', { path: it.inode.path, offset: pos });
  return 0;
}

/**
 * daxWrite -- write(2) of a DAX file (dax_iomap_rw): copy `src` to file offset `pos` with
 * cache-bypassing stores, so the data is durable when the promise resolves. Returns the bytes
 * written (short only after an error past the first byte). i_size is the caller's business.
 * Page-aligned writes over poison go through the recovery path and clear it; unaligned ones fail
 * with EFAULT. Waits for entry locks when an allocation or CoW must invalidate entries.
 */
export async function daxWrite(inode: DaxInode, pos: number, src: Uint8Array, ops: IomapOps<DaxInode>, opts: DaxRwOptions = {}): Promise<number> {
  if (src.length === 0) return 0;
  check(inode, pos);
  if (opts.nowait === true) refuseIfLocked(inode, pos, src.length);
  const it = new IomapIter(inode, pos, src.length, flagsFor(opts));
  const c = rwContext(true, src, pos);
  const r = opts.nowait === true ? iterateSync(it, ops, daxIomapIter, c) : await iterateAsync(it, ops, daxIomapIter, c);
  return finish(it, c, r, pos);
}

/**
 * daxWriteSync -- daxWrite without a promise, for callers on the hot path. Where daxWrite would
 * sleep on an entry lock (one is held by a fault or writeback in progress over the range), it
 * fails with `EAGAIN` before touching anything.
 */
export function daxWriteSync(inode: DaxInode, pos: number, src: Uint8Array, ops: IomapOps<DaxInode>, opts?: DaxRwOptions): number {
  if (src.length === 0) return 0;
  check(inode, pos);
  refuseIfLocked(inode, pos, src.length);
  const it = new IomapIter(inode, pos, src.length, opts === undefined ? IomapOp.DAX | IomapOp.WRITE : flagsFor(opts));
  const c = rwContext(true, src, pos);
  return finish(it, c, iterateSync(it, ops, daxIomapIter, c), pos);
}
