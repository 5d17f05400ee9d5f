import type { IomapOps } from '../iomap/types';
import { daxZeroRange } from './zero-range';
import type { DaxInode } from './types';

/**
 * daxTruncatePage -- zero from `pos` to the end of its block, so that bytes past a new unaligned EOF
 * stay zero if the file grows again. A block-aligned `pos` needs nothing.
 */
export async function daxTruncatePage(inode: DaxInode, pos: number, ops: IomapOps<DaxInode>): Promise<boolean> {
  const off = pos % inode.blockSize;
  if (off === 0) return false;
  return daxZeroRange(inode, pos, inode.blockSize - off, ops);
}
