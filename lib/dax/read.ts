import { checkReachable } from '../device/mapped-memory';
import { IomapOp } from '../iomap/constants';
import { Errno } from '../iomap/errno';
import { IomapIter } from '../iomap/iter';
import type { IomapOps } from '../iomap/types';
import { daxError } from './errors';
import { finalError, iterateSync } from './iterate';
import { daxIomapIter, rwContext } from './rw-iter';
import type { DaxInode } from './types';

export interface DaxRwOptions {
  /** IOCB_NOWAIT: the filesystem must not block, and entry locks are never waited for. */
  readonly nowait?: boolean;
}

/**
 * daxRead -- read(2) of a DAX file (dax_iomap_rw): fill `target` from file offset `pos`. Returns the
 * bytes read, short at EOF or before poison; 0 at or past EOF. Holes and unwritten extents read as
 * zeros and allocate nothing. Throws (EIO with the offset on poison) only when nothing was read.
 * Reads never wait: they touch no mapping entries.
 */
export function daxRead(inode: DaxInode, pos: number, target: Uint8Array, ops: IomapOps<DaxInode>, opts: DaxRwOptions = {}): number {
  if (pos < 0 || !Number.isSafeInteger(pos)) throw daxError(-Errno.EINVAL, 'read', { path: inode.path, offset: pos });
  if (target.length === 0) return 0;
  // Holes are zero-filled by a store from JavaScript: into a read-only mapping that would kill the process.
  checkReachable(target, true, 'target', inode.path);
  const flags = IomapOp.DAX | (opts.nowait === true ? IomapOp.NOWAIT : 0);
  const it = new IomapIter(inode, pos, target.length, flags);
  const c = rwContext(false, target, pos);
  const r = iterateSync(it, ops, daxIomapIter, c);
  const done = it.pos - pos;
  if (done > 0) return done;
  if (r < 0) throw finalError(r, it, c) ?? daxError(r, 'read', { path: inode.path, offset: pos });
  return 0;
}
