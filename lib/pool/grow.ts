import { daxError } from '../dax/errors';
import { PmemdaxError } from '../errors';
import { Errno } from '../iomap/errno';
import { checkpointBytes, encodeCheckpoint, writeRuns } from './checkpoint';
import { crc32c } from './crc32c';
import type { PoolDevice } from './device';
import { BLOCK, BLOCKS_MAX, CKPT_RUNS_MAX, encodeSuperblock } from './layout';
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
  const loaded = loadPool(device, path, true);
  if (loaded.usedBackup) {
    throw new PmemdaxError(
      'ERR_PMEMDAX_CORRUPT',
      `pool '${path}' was found through its backup superblock (the primary is unreadable): open it for writing once, which rewrites the primary, then grow it`,
      { path },
    );
  }
  return loaded;
}

/**
 * writeGrown -- the pool `loaded` (by loadForGrow) written as a pool of `blocks` blocks on `device`, which
 * is that large already (a file extended, or cut to exactly that length), and whose last block is
 * `blocks - 1`.
 *
 * Nothing is written in the old layout: a primary superblock torn there would send a load to the
 * device's last block for the backup, which is not there yet. The whole state (its journal replayed in
 * memory) goes into one checkpoint of a new epoch: the same files, a bitmap over the new blocks (the old
 * backup superblock's block is free space now, the new last block holds the new backup). The checkpoint
 * goes into the new blocks, which nothing before the switch uses (into free blocks of the pool as it is if
 * it does not fit there). Then the new backup at the new end (zeroed first, so that it is not taken for a
 * valid copy before it is written), then the primary, which is the switch: before it a crash leaves the
 * pool as it was, and its next open for writing cuts the file back (Pool.open); after it, the grown pool.
 */
export function writeGrown(device: PoolDevice, path: string, loaded: Loaded, blocks: number): void {
  const { state: s, found: old } = loaded;
  const newBackup = blocks - 1;
  device.fill(newBackup * BLOCK, 0, BLOCK);
  const bitmap = new Uint32Array(Math.ceil(blocks / 32));
  bitmap.set(s.alloc.snapshot(old.ckptRuns));
  setBits(bitmap, old.blocks - 1, 1, false);
  setBits(bitmap, newBackup, 1, true);
  const n = Math.ceil((checkpointBytes(s) - s.alloc.bitmap.byteLength + bitmap.byteLength) / BLOCK);
  const runs = old.blocks + n <= newBackup ? [old.blocks, n] : s.alloc.takeRuns(n, CKPT_RUNS_MAX);
  if (runs === null) throw daxError(-Errno.ENOSPC, 'grow', { path });
  for (let i = 0; i < runs.length; i += 2) setBits(bitmap, runs[i] as number, runs[i + 1] as number, true);
  const epoch = old.epoch + 1;
  const image = encodeCheckpoint(s, epoch, bitmap);
  writeRuns(device, runs, image);
  const sb = encodeSuperblock({ ...old, blocks, epoch, seq: (old.seq + 1) >>> 0, ckptRuns: runs, ckptBytes: image.length, ckptCrc: crc32c(image) });
  device.copy(newBackup * BLOCK, sb);
  device.copy(0, sb);
}

function setBits(bitmap: Uint32Array, b: number, n: number, on: boolean): void {
  for (let i = b; i < b + n; i++) {
    const w = i >>> 5;
    bitmap[w] = on ? (bitmap[w] as number) | (1 << (i & 31)) : (bitmap[w] as number) & ~(1 << (i & 31));
  }
}
