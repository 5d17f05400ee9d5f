import type { DaxDevice } from '../device/types';
import { PmemdaxError } from '../errors';
import { ExtentState } from './extent-map';
import { loadPool } from './format';
import { BLOCK, dataEnd, dataStart, decodeSuperblock, FILE_SIZE_MAX, inCheckpoint } from './layout';
import { readMeta } from './meta-io';
import type { PoolState } from './state';
import type { CheckProblem, CheckReport, UnsafeShutdownState } from './types';

/**
 * checkPool -- verify the pool as the media holds it (a fresh load: superblocks, checkpoint, journal),
 * then every invariant across it: extents inside the data area and not overlapping, every referenced
 * block marked used and every used block referenced (or metadata), reference counts equal to the
 * references, no shared unwritten block, unique names, sane sizes. Also compares the in-memory state
 * of the open pool with what the media says, for committed files.
 */
export function checkPool(device: DaxDevice, path: string, unsafe: UnsafeShutdownState, live: PoolState, progress?: (done: number, total: number) => void): CheckReport {
  const problems: CheckProblem[] = [];
  const add = (what: string, where: string, message: string): void => {
    problems.push({ what, where, message });
  };
  for (const [where, at] of [['primary superblock', 0], ['backup superblock', (live.sb.blocks - 1) * BLOCK]] as const) {
    const sb = decodeSuperblock(readMeta(device, path, at, BLOCK, where));
    if (typeof sb === 'string') add('superblock', `${where} at offset ${at}`, sb);
  }
  let s: PoolState;
  try {
    s = loadPool(device, path).state;
  } catch (e) {
    if (e instanceof PmemdaxError || (e instanceof Error && (e as { code?: string }).code === 'EIO')) {
      add('load', 'pool', e.message);
      return { ok: false, problems, unsafeShutdown: unsafe, files: 0, blocksUsed: 0 };
    }
    throw e;
  }
  const sb = s.sb;
  const lo = dataStart(sb);
  const hi = dataEnd(sb);
  // How many extents reference each block: one bit for "seen", a map for the rest.
  const seen = new Uint32Array(s.alloc.bitmap.length);
  const extra = new Map<number, number>();
  let done = 0;
  const total = s.inodes.size;
  for (const inode of s.inodes.values()) {
    const where = `inode ${inode.ino} ('${inode.name ?? '(orphan)'}')`;
    if (inode.size < 0 || inode.size > FILE_SIZE_MAX) add('size', where, `size ${inode.size} is out of range`);
    inode.extents.forEach(0, Infinity, (page, count, block, state) => {
      if (block < lo || block + count > hi) {
        add('extent bounds', `${where} page ${page}`, `blocks ${block}+${count} are outside the data area [${lo}, ${hi})`);
        return;
      }
      for (let b = block; b < block + count; b++) {
        const bit = 1 << (b & 31);
        if ((seen[b >>> 5] as number) & bit) extra.set(b, (extra.get(b) ?? 1) + 1);
        else seen[b >>> 5] = (seen[b >>> 5] as number) | bit;
        if (!s.alloc.used(b)) add('free and used', `block ${b}`, `referenced by ${where} page ${page + b - block} but free in the bitmap`);
      }
      if (state & ExtentState.UNWRITTEN) {
        for (let b = block; b < block + count; b++) if (s.alloc.refs(b) > 1) add('shared unwritten', `${where} page ${page + b - block}`, `block ${b} is unwritten and shared`);
      }
    });
    progress?.(++done, total);
  }
  for (const [b, refs] of s.alloc.shared) {
    const n = (seen[b >>> 5] as number) & (1 << (b & 31)) ? extra.get(b) ?? 1 : 0;
    if (n !== refs) add('refcount', `block ${b}`, `recorded refcount ${refs}, referenced ${n} times`);
  }
  for (const [b, n] of extra) if (!s.alloc.shared.has(b)) add('refcount', `block ${b}`, `referenced ${n} times without a refcount record`);
  const meta = (b: number): boolean => b < lo || b >= hi || inCheckpoint(sb, b);
  let used = 0;
  for (let b = 0; b < sb.blocks; b++) {
    const isUsed = s.alloc.used(b);
    if (isUsed) used++;
    const referenced = ((seen[b >>> 5] as number) & (1 << (b & 31))) !== 0;
    if (meta(b) && !isUsed) add('metadata free', `block ${b}`, 'a metadata block is free in the bitmap');
    else if (isUsed && !referenced && !meta(b)) add('leaked block', `block ${b}`, 'used in the bitmap but referenced by no file');
  }
  // The open pool's committed state must be what the media says.
  for (const inode of live.inodes.values()) {
    if (inode.metaDirty || live.dirtyInodes.has(inode)) continue;
    const media = s.inodes.get(inode.ino);
    if (media === undefined) {
      if (!live.namespaceOps.some((o) => o.ino === inode.ino)) add('memory and media', `inode ${inode.ino}`, 'open in memory but absent on the media');
      continue;
    }
    if (media.size !== inode.size) add('memory and media', `inode ${inode.ino}`, `size ${inode.size} in memory, ${media.size} on the media`);
  }
  return { ok: problems.length === 0, problems, unsafeShutdown: unsafe, files: s.names.size, blocksUsed: used };
}
