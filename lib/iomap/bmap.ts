import { IomapOp, IomapType } from './constants';
import { IomapIter } from './iter';
import type { IomapInode, IomapOps } from './types';

/**
 * iomapBmap -- FIBMAP (deprecated): the device block holding file block `block` (both in units of
 * `blockSize`), or 0 for anything not MAPPED. 0 is also the answer on error, as in the kernel.
 */
export function iomapBmap<I extends IomapInode>(inode: I, block: number, blockSize: number, ops: IomapOps<I>): number {
  const it = new IomapIter(inode, block * blockSize, blockSize, IomapOp.REPORT);
  let answer = 0;
  while (it.next(ops) > 0) {
    const m = it.iomap;
    if (m.type === IomapType.MAPPED) answer = Math.floor((m.addr + it.pos - m.offset) / blockSize);
    it.status = it.advanceFull();
  }
  return answer;
}
