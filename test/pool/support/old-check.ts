import type { DaxDevice } from '../../../lib/device/types';
import { PmemdaxError } from '../../../lib/errors';
import { setBits } from '../../../lib/pool/alloc';
import { loadPool } from '../../../lib/pool/load';
import { BLOCK, dataEnd, dataStart, decodeSuperblock, isSuperblock } from '../../../lib/pool/layout';
import { readMeta } from '../../../lib/pool/meta-io';
import type { PoolState } from '../../../lib/pool/state';
import type { CheckProblem, CheckReport, UnsafeShutdownState } from '../../../lib/pool/types';

/**
 * checkPool -- verify the pool as the media holds it (a fresh load: superblocks, checkpoint, journal),
 * then every invariant across it. Loading enforces the structural ones (see docs/format.md,
 * "Invariants") and its audit the ones writing relies on; this adds the superblock copies, leaked
 * blocks, and, for committed files, that the open pool's state in memory is what the media say.
 */
export function oldCheckPool(device: DaxDevice, path: string, unsafe: UnsafeShutdownState, live: PoolState, progress?: (done: number, total: number) => void): CheckReport {
  const problems: CheckProblem[] = [];
  const add = (what: string, where: string, message: string): void => {
    problems.push({ what, where, message });
  };
  for (const [where, at] of [['primary superblock', 0], ['backup superblock', (live.sb.blocks - 1) * BLOCK]] as const) {
    const sb = decodeSuperblock(readMeta(device, path, at, BLOCK, where));
    if (typeof sb === 'string') add('superblock', `${where} at offset ${at}`, sb);
    else if (!isSuperblock(sb)) add('superblock', `${where} at offset ${at}`, `format version ${sb.version}`);
  }
  let s: PoolState;
  try {
    const loaded = loadPool(device, path, { whole: true });
    s = loaded.state;
    problems.push(...loaded.problems);
  } catch (e) {
    // What the load reports of the media (corruption, poison) is a problem found; anything else propagates.
    if (e instanceof PmemdaxError && (e.code === 'ERR_PMEMDAX_CORRUPT' || e.code === 'EIO')) {
      add('load', 'pool', e.message);
      return { ok: false, problems, unsafeShutdown: unsafe, files: 0, blocksUsed: 0 };
    }
    throw e;
  }
  const sb = s.sb;
  const lo = dataStart(sb);
  const hi = dataEnd(sb);
  // Blocks some extent references (the load checked each one is inside the data area), or metadata holds.
  const referenced = s.metaBlocks?.slice() ?? new Uint32Array(s.alloc.bitmap.length);
  let done = 0;
  const total = s.inodes.size;
  for (const inode of s.inodes.values()) {
    inode.extents.forEach(0, Infinity, (_page, count, block) => setBits(referenced, block, count));
    progress?.(++done, total);
  }
  // Used data blocks no extent references and no metadata holds, as runs.
  let leak = -1;
  let used = 0;
  for (let b = 0; b <= sb.blocks; b++) {
    const isUsed = b < sb.blocks && s.alloc.used(b);
    if (isUsed) used++;
    const leaked = isUsed && b >= lo && b < hi && ((referenced[b >>> 5] as number) & (1 << (b & 31))) === 0;
    if (leaked && leak < 0) leak = b;
    if (!leaked && leak >= 0) {
      add('leaked block', `blocks ${leak}+${b - leak}`, 'used in the bitmap but referenced by no file');
      leak = -1;
    }
  }
  // The open pool's committed state must be what the media says.
  for (const inode of live.inodes.values()) {
    // Pending, or in a group commit whose record is not on the media yet: memory may be ahead.
    if (inode.metaDirty || live.dirtyInodes.has(inode) || live.inFlight(inode)) continue;
    const media = s.inodes.get(inode.ino);
    if (media === undefined) {
      if (!live.namespaceOps.some((o) => o.ino === inode.ino)) add('memory and media', `inode ${inode.ino}`, 'open in memory but absent on the media');
      continue;
    }
    if (media.size !== inode.size) add('memory and media', `inode ${inode.ino}`, `size ${inode.size} in memory, ${media.size} on the media`);
  }
  return { ok: problems.length === 0, problems, unsafeShutdown: unsafe, files: new Set([...s.inodes.values()].flatMap((i) => (i.name === null ? [] : [i.name]))).size, blocksUsed: used };
}
