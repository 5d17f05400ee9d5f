import type { IomapOps } from '../iomap/types';
import type { DaxInode } from './types';
import { daxZeroRange, daxZeroRangeSync } from './zero-range';

/**
 * The bytes a growth of the file from `size` must zero before the size moves: from the old EOF to
 * the end of its block, up to `dataStart` (where the growing call's own data begins; the new size
 * for calls that bring none). Null when there are none: an aligned EOF, or data starting at EOF.
 */
export function eofGap(inode: DaxInode, size: number, dataStart: number): [number, number] | null {
  const blockEnd = Math.ceil(size / inode.blockSize) * inode.blockSize;
  const end = Math.min(blockEnd, dataStart);
  return end > size ? [size, end - size] : null;
}

/**
 * daxZeroEof -- the growth half of what the kernel does around EOF (iomap_zero_range of the old EOF
 * block in the filesystems' write, fallocate, truncate and remap paths): stores through a mapping
 * may leave bytes past EOF in its block, and they must not become file data when the size grows.
 * Zeroes `eofGap(inode, size, dataStart)`; resolves to whether anything was zeroed.
 */
export async function daxZeroEof(inode: DaxInode, size: number, dataStart: number, ops: IomapOps<DaxInode>): Promise<boolean> {
  const gap = eofGap(inode, size, dataStart);
  return gap !== null && daxZeroRange(inode, gap[0], gap[1], ops);
}

/** daxZeroEof for synchronous callers: EAGAIN where it would have to wait for an entry lock. */
export function daxZeroEofSync(inode: DaxInode, size: number, dataStart: number, ops: IomapOps<DaxInode>): boolean {
  const gap = eofGap(inode, size, dataStart);
  return gap !== null && daxZeroRangeSync(inode, gap[0], gap[1], ops);
}
