import { IomapOp } from '../iomap/constants';
import { Errno } from '../iomap/errno';
import { IomapIter } from '../iomap/iter';
import type { IomapOps } from '../iomap/types';
import { daxError } from './errors';
import { finalError, iterateAsync, iterateSync } from './iterate';
import type { DaxRwOptions } from './read';
import { daxIomapIter, rwContext, type RwContext } from './rw-iter';
import type { DaxInode } from './types';

function start(inode: DaxInode, pos: number, src: Uint8Array, opts: DaxRwOptions): [IomapIter<DaxInode>, RwContext] {
  if (pos < 0 || !Number.isSafeInteger(pos)) throw daxError(-Errno.EINVAL, 'write', { path: inode.path, offset: pos });
  const flags = IomapOp.DAX | IomapOp.WRITE | (opts.nowait === true ? IomapOp.NOWAIT : 0);
  return [new IomapIter(inode, pos, src.length, flags), rwContext(true, src, pos)];
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
  const [it, c] = start(inode, pos, src, opts);
  const r = opts.nowait === true ? iterateSync(it, ops, daxIomapIter, c) : await iterateAsync(it, ops, daxIomapIter, c);
  return finish(it, c, r, pos);
}

/**
 * daxWriteSync -- daxWrite without a promise, for callers on the hot path. Where daxWrite would
 * sleep on an entry lock it stops instead: `EAGAIN` if nothing was written yet, else a short count.
 */
export function daxWriteSync(inode: DaxInode, pos: number, src: Uint8Array, ops: IomapOps<DaxInode>, opts: DaxRwOptions = {}): number {
  if (src.length === 0) return 0;
  const [it, c] = start(inode, pos, src, opts);
  return finish(it, c, iterateSync(it, ops, daxIomapIter, c), pos);
}
