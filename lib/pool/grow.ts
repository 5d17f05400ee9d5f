import { daxError } from '../dax/errors';
import { PmemdaxError } from '../errors';
import { Errno } from '../iomap/errno';
import { setBits } from './alloc';
import { writeCheckpoint } from './checkpoint';
import type { PoolDevice } from './device';
import { BLOCK, BLOCKS_MAX, bitmapCopyBlocks, encodeSuperblock, type Superblock } from './layout';
import { loadPool, type Loaded } from './load';

/**
 * The block count a pool of `current` blocks on `device` grows to for `size` bytes; 0 when it has that
 * many already. A smaller size, or device-dax (its size is its region's), is ERR_PMEMDAX_SIZE.
 */
export function growTarget(device: PoolDevice, path: string, current: number, size: number): number {
  const blocks = Math.min(Math.floor(size / BLOCK), BLOCKS_MAX);
  if (blocks === current) return 0;
  if (blocks < current) {
    throw new PmemdaxError('ERR_PMEMDAX_SIZE', `pool '${path}' is ${current * BLOCK} bytes: it cannot shrink to ${blocks * BLOCK}`, { path });
  }
  if (device.info?.kind === 'devdax') {
    throw new PmemdaxError('ERR_PMEMDAX_SIZE', `pool '${path}' is on device-dax, whose size is its region's: it cannot grow`, { path });
  }
  return blocks;
}

/**
 * The pool on `device` loaded for a grow, before the device is made longer (a load of the longer device
 * would look for the backup superblock at its new end). A damaged pool is refused (ERR_PMEMDAX_CORRUPT),
 * and so is one found through its backup: its primary must be whole again first, or a primary torn during
 * the grow would leave no copy a load can find.
 */
export function loadForGrow(device: PoolDevice, path: string): Loaded {
  const loaded = loadPool(device, path, { writable: true });
  if (loaded.usedBackup) {
    throw new PmemdaxError(
      'ERR_PMEMDAX_CORRUPT',
      `pool '${path}' was found through its backup superblock (the primary is unreadable): open it for writing once, which rewrites the primary, then grow it`,
      { path },
    );
  }
  return loaded;
}

/** The layout of a pool `old` grown to `blocks` blocks, and what its bitmap takes with the grow. */
export interface GrownLayout {
  readonly layout: Superblock;
  /**
   * The bitmap `bits` (over the old blocks) as it is after the switch, a new array over the new blocks: the
   * old bitmap copies and the old backup superblock's block free, the new copies and the new backup used.
   */
  readonly adjust: (bits: Uint32Array) => Uint32Array;
}

/**
 * grownLayout -- the pool `old` laid out over `blocks` blocks: the same journal and trees, bitmap copies
 * large enough for the new blocks at the start of them, the backup superblock at the new last block.
 * ENOSPC when the new blocks cannot hold both copies.
 */
export function grownLayout(old: Superblock, blocks: number, path: string): GrownLayout {
  const newBackup = blocks - 1;
  const bitmapBlocks = bitmapCopyBlocks(blocks);
  if (old.blocks + 2 * bitmapBlocks > newBackup) throw daxError(-Errno.ENOSPC, 'grow', { path });
  const layout: Superblock = { ...old, blocks, bitmapAt: [old.blocks, old.blocks + bitmapBlocks], bitmapBlocks };
  const adjust = (bits: Uint32Array): Uint32Array => {
    const grown = new Uint32Array(Math.ceil(blocks / 32));
    grown.set(bits);
    for (const at of old.bitmapAt) setBits(grown, at, old.bitmapBlocks, false);
    setBits(grown, old.blocks - 1, 1, false);
    setBits(grown, old.blocks, 2 * bitmapBlocks);
    setBits(grown, newBackup, 1);
    return grown;
  };
  return { layout, adjust };
}

/**
 * writeGrown -- the pool `loaded` (by loadForGrow) written as a pool of `blocks` blocks on `device`, which
 * is that large already (a file extended, or cut to exactly that length), and whose last block is
 * `blocks - 1`.
 *
 * Nothing the old pool reaches is written, and no superblock in the old layout: a primary torn there
 * would send a load to the device's last block for the backup, which is not there yet. The state (its journal replayed in memory)
 * goes into a checkpoint of a new epoch: the trees' changed pages in free blocks of the pool as it was,
 * and new bitmap copies, large enough for the new blocks, at the start of the new blocks (the old copies
 * and the old backup superblock's block are free space now, the new last block holds the new backup).
 * Then the new backup at the new end (zeroed first, so that it is not taken for a valid copy before it is
 * written), then the primary, which is the switch: before it a crash leaves the pool as it was, and its
 * next open for writing cuts the file back (Pool.open); after it, the grown pool. An open pool grows the
 * same way (PoolCore.grow).
 */
export function writeGrown(device: PoolDevice, path: string, loaded: Loaded, blocks: number): void {
  const { state: s, found: old } = loaded;
  const { layout, adjust } = grownLayout(old, blocks, path);
  device.fill((blocks - 1) * BLOCK, 0, BLOCK);
  // The trees' changed pages go to free blocks of the old pool (its allocator), the bitmap, grown, to its
  // copy in the new blocks: written whole, as the load read only the other copy (the old epoch's), so the
  // state knows nothing of what this one holds.
  const written = writeCheckpoint(device, s, layout, old.epoch + 1, false, adjust);
  const sb = encodeSuperblock({ ...written, seq: (old.seq + 1) >>> 0 });
  device.copy((blocks - 1) * BLOCK, sb);
  device.copy(0, sb);
}
