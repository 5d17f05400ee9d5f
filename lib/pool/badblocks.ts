import type { DaxDevice } from '../device/types';
import { firstBit } from './audit';
import { everyInode, treeBlocks } from './checkpoint';
import { isErrnoError } from '../errors';
import type { PoolInode } from './inode';
import { BLOCK, dataEnd, dataStart, inBitmapCopies } from './layout';
import type { PoolState } from './state';
import type { PoolBadblock } from './types';

/** Each poisoned device range (split by block), with what it hits: metadata, free space, or a file's bytes. */
export function locateBadblocks(device: DaxDevice, s: PoolState): PoolBadblock[] {
  const out: PoolBadblock[] = [];
  const sb = s.sb;
  const poisoned = device.badblocks();
  // Walked only when something is poisoned: every page of the trees.
  const trees = poisoned.length > 0 ? treeBlocks(s) : null;
  const inodes = poisoned.length > 0 ? filesOf(s) : [];
  for (const r of poisoned) {
    for (let at = r.offset; at < r.offset + r.length; ) {
      const b = Math.floor(at / BLOCK);
      const end = Math.min(r.offset + r.length, (b + 1) * BLOCK);
      let owner: PoolBadblock['owner'] = { kind: 'free' };
      if (b === 0 || b === sb.blocks - 1) owner = { kind: 'metadata', area: 'superblock' };
      else if (b < dataStart(sb)) owner = { kind: 'metadata', area: 'journal' };
      else if (inBitmapCopies(sb, b)) owner = { kind: 'metadata', area: 'bitmap' };
      else if (trees !== null && firstBit(trees, b, 1, 1) >= 0) owner = { kind: 'metadata', area: 'tree' };
      else if (b < dataEnd(sb)) {
        for (const inode of inodes) {
          inode.extents.forEach(0, Infinity, (page, count, block) => {
            if (owner.kind === 'free' && b >= block && b < block + count) {
              owner = { kind: 'file', name: inode.name ?? '', fileOffset: (page + b - block) * BLOCK + (at % BLOCK) };
            }
          });
          if (owner.kind !== 'free') break;
        }
      }
      out.push({ offset: at, length: end - at, owner });
      at = end;
    }
  }
  return out;
}

/** Every inode, for owners; a poisoned tree page leaves those memory holds (its own range says the tree is hit). */
function filesOf(s: PoolState): PoolInode[] {
  try {
    return everyInode(s);
  } catch (e) {
    if (!isErrnoError(e, 'EIO')) throw e;
    return [...s.inodes.values()];
  }
}
