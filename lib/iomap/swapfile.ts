import { IomapFlag, IomapOp, IomapType, PAGE_SIZE } from './constants';
import { Errno } from './errno';
import { IomapIter } from './iter';
import type { IomapInode, IomapOps } from './types';

/** One physically contiguous run of whole pages usable for swap. */
export interface SwapExtent {
  /** First file page. */
  readonly page: number;
  /** First device page. */
  readonly devicePage: number;
  readonly pages: number;
}

export type SwapfileResult = { readonly extents: SwapExtent[] } | { readonly errno: number; readonly reason: string };

/**
 * iomapSwapfileActivate -- docs/semantics.md §6.8: check that every mapping of the file is allocated,
 * committed, unshared and on one device, and collect the page-aligned, physically contiguous runs.
 * The caller has fsync'd the file first. Any problem, or no usable page, is `-EINVAL` with a reason.
 */
export function iomapSwapfileActivate<I extends IomapInode>(inode: I, ops: IomapOps<I>): SwapfileResult {
  const extents: SwapExtent[] = [];
  let device: unknown;
  let reason = '';
  const it = new IomapIter(inode, 0, inode.size, IomapOp.REPORT);
  let r;
  while ((r = it.next(ops)) > 0) {
    const m = it.iomap;
    if (m.type === IomapType.INLINE) reason = 'is inline';
    else if (m.type !== IomapType.MAPPED && m.type !== IomapType.UNWRITTEN) reason = 'has unallocated extents';
    else if (m.flags & IomapFlag.DIRTY) reason = 'is not committed';
    else if (m.flags & IomapFlag.SHARED) reason = 'has shared extents';
    else if (device !== undefined && m.daxDev !== device) reason = 'must be on one device';
    if (reason !== '') {
      it.status = -Errno.EINVAL;
      continue;
    }
    device = m.daxDev;
    // Whole pages only: trim partial pages at both ends of the mapping's physical range.
    const len = it.length();
    const physStart = m.addr + (it.pos - m.offset);
    const first = Math.ceil(physStart / PAGE_SIZE);
    const end = Math.floor((physStart + len) / PAGE_SIZE);
    if (end > first) {
      const filePage = Math.floor((it.pos + (first * PAGE_SIZE - physStart)) / PAGE_SIZE);
      const prev = extents[extents.length - 1];
      if (prev !== undefined && prev.devicePage + prev.pages === first && prev.page + prev.pages === filePage) {
        extents[extents.length - 1] = { page: prev.page, devicePage: prev.devicePage, pages: prev.pages + end - first };
      } else {
        extents.push({ page: filePage, devicePage: first, pages: end - first });
      }
    }
    it.status = it.advance(len);
  }
  if (reason !== '') return { errno: -Errno.EINVAL, reason };
  if (r < 0) return { errno: r, reason: 'mapping failed' };
  if (extents.length === 0) return { errno: -Errno.EINVAL, reason: 'has no usable pages' };
  return { extents };
}
