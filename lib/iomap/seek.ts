import { IomapOp, IomapType } from './constants';
import { Errno } from './errno';
import { IomapIter } from './iter';
import type { IomapInode, IomapOps } from './types';

/**
 * How an UNWRITTEN extent is searched: the caller knows which of its pages count as data (for DAX,
 * the pages that have mapping entries). Both return a byte offset in `[start, end)` or -1.
 */
export interface SeekProbe<I extends IomapInode> {
  firstData(inode: I, start: number, end: number): number;
  firstHole(inode: I, start: number, end: number): number;
}

/**
 * iomapSeekHole -- SEEK_HOLE: the first hole at or after `offset`, i_size when there is none below
 * EOF, or a negative errno (`-ENXIO` when `offset` is outside `[0, i_size)`). Without a probe an
 * UNWRITTEN extent is a hole.
 */
export function iomapSeekHole<I extends IomapInode>(inode: I, offset: number, ops: IomapOps<I>, probe?: SeekProbe<I>): number {
  const size = inode.size;
  if (offset < 0 || offset >= size) return -Errno.ENXIO;
  const it = new IomapIter(inode, offset, size - offset, IomapOp.REPORT);
  let found = -1;
  let r;
  while ((r = it.next(ops)) > 0) {
    const len = it.length();
    const type = it.iomap.type;
    if (type === IomapType.HOLE) {
      found = it.pos;
    } else if (type === IomapType.UNWRITTEN) {
      found = probe ? probe.firstHole(inode, it.pos, it.pos + len) : it.pos;
    }
    // Stopping without advancing ends the iteration with 0.
    it.status = found >= 0 ? 0 : it.advance(len);
  }
  if (r < 0) return r;
  return found >= 0 ? found : size;
}

/**
 * iomapSeekData -- SEEK_DATA: the first data at or after `offset`, or a negative errno (`-ENXIO`
 * when `offset` is outside `[0, i_size)` or no data follows). Without a probe an UNWRITTEN extent
 * is skipped.
 */
export function iomapSeekData<I extends IomapInode>(inode: I, offset: number, ops: IomapOps<I>, probe?: SeekProbe<I>): number {
  const size = inode.size;
  if (offset < 0 || offset >= size) return -Errno.ENXIO;
  const it = new IomapIter(inode, offset, size - offset, IomapOp.REPORT);
  let found = -1;
  let r;
  while ((r = it.next(ops)) > 0) {
    const len = it.length();
    const type = it.iomap.type;
    if (type === IomapType.UNWRITTEN) {
      found = probe ? probe.firstData(inode, it.pos, it.pos + len) : -1;
    } else if (type !== IomapType.HOLE) {
      found = it.pos;
    }
    it.status = found >= 0 ? 0 : it.advance(len);
  }
  if (r < 0) return r;
  return found >= 0 ? found : -Errno.ENXIO;
}
