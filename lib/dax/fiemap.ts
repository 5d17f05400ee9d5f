import { iomapFiemap, type FiemapExtent } from '../iomap/fiemap';
import type { IomapOps } from '../iomap/types';
import { daxError } from './errors';
import type { DaxInode } from './types';

/**
 * daxFiemap -- FS_IOC_FIEMAP over `[start, start+len)` (docs/semantics.md §6.7): at most `max` extents, in
 * logical order, holes never reported, LAST on the last one reported.
 */
export function daxFiemap(inode: DaxInode, start: number, len: number, ops: IomapOps<DaxInode>, max?: number): FiemapExtent[] {
  const out: FiemapExtent[] = [];
  const r = iomapFiemap(inode, start, len, ops, out, max);
  if (r < 0) throw daxError(r, 'ioctl', { path: inode.path, offset: start });
  return out;
}
