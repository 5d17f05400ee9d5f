import { daxError } from '../dax/errors';
import { PmemdaxError, isErrnoError } from '../errors';
import { Errno } from '../iomap/errno';
import { setBits } from './alloc';
import { writeCheckpoint } from './checkpoint';
import type { PoolDevice } from './device';
import { BLOCK, bitmapCopyBlocks, encodeSuperblock, type Superblock } from './layout';
import { loadPool } from './load';
import type { CheckProblem } from './types';
import { loadV1Pool, type V1Loaded } from './v1/load';

/**
 * upgradePool -- the pool on `device`, of format version 1, written as version 2 in place (docs/format.md,
 * "Format versions"); false, with nothing written, when it is not version 1: a pool of version 2 already
 * (any other media fail as a load fails on them). A version-1 pool found through its backup superblock, or
 * damaged (its audit found a problem), is ERR_PMEMDAX_CORRUPT; no room for the bitmap copies and the trees
 * is ENOSPC. Either way nothing was written.
 */
export function upgradePool(device: PoolDevice, path: string): boolean {
  const loaded = loadV1Pool(device, path);
  if (loaded === null) {
    loadPool(device, path);
    return false;
  }
  if (loaded.usedBackup) {
    throw new PmemdaxError(
      'ERR_PMEMDAX_CORRUPT',
      `pool '${path}' was found through its backup superblock (the primary is unreadable): open it for writing once with the pmemdax that made it, which rewrites the primary, then upgrade it`,
      { path },
    );
  }
  if (loaded.problems.length > 0) throw refuseDamaged(path, loaded.problems);
  writeUpgraded(device, path, loaded);
  return true;
}

function refuseDamaged(path: string, problems: readonly CheckProblem[]): PmemdaxError {
  const first = problems[0] as CheckProblem;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return new PmemdaxError(
    'ERR_PMEMDAX_CORRUPT',
    `pool '${path}' is corrupt: ${first.what} at ${first.where}: ${first.message}${more}; it is not upgraded: copy its files out with the pmemdax that made it`,
    { path },
  );
}

/**
 * The version-1 pool `loaded` (its journal replayed in memory) written as a checkpoint of version 2, one
 * epoch on, in blocks the version-1 pool does not use: the two bitmap copies and the trees' pages, all
 * durable; then the backup superblock, then the primary, which is the switch. Before it, the version-1
 * primary, checkpoint image and journal are as they were, so version-1 code reads the pool, a load of
 * version 2 refuses it (its primary is version 1) and an upgrade starts again from it; after it, the pool
 * is version 2 (a torn primary leaves the new backup to read it by).
 *
 * The version-1 image's blocks are free in the new bitmap, but used in the allocator (its bitmap counts
 * them, the audit checked) so none of them is written before the switch. The journal is left as it is:
 * its records carry the version-1 epoch and a replay takes only the superblock's epoch, so they are stale
 * once the switch is made.
 */
function writeUpgraded(device: PoolDevice, path: string, loaded: V1Loaded): void {
  const { state: s, found: v1 } = loaded;
  const bitmapBlocks = bitmapCopyBlocks(v1.blocks);
  const copy0 = s.alloc.takeContiguous(bitmapBlocks);
  const copy1 = copy0 < 0 ? -1 : s.alloc.takeContiguous(bitmapBlocks);
  if (copy1 < 0) throw daxError(-Errno.ENOSPC, 'upgrade', { path });
  const layout: Superblock = { ...s.sb, bitmapAt: [copy0, copy1], bitmapBlocks, seq: (v1.seq + 1) >>> 0 };
  let written: Superblock;
  try {
    written = writeCheckpoint(device, s, layout, v1.epoch + 1, true, (bits) => {
      for (let i = 0; i < v1.ckptRuns.length; i += 2) setBits(bits, v1.ckptRuns[i] as number, v1.ckptRuns[i + 1] as number, false);
      return bits;
    });
  } catch (e) {
    if (isErrnoError(e, 'ENOSPC')) throw daxError(-Errno.ENOSPC, 'upgrade', { path });
    throw e;
  }
  const sb = encodeSuperblock(written);
  device.copy((v1.blocks - 1) * BLOCK, sb);
  device.copy(0, sb);
}
