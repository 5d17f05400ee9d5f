import type { DaxDevice } from '../../device/types';
import { isErrnoError } from '../../errors';
import { setBits } from '../alloc';
import { auditState } from '../audit';
import { corrupt } from '../errors';
import { Journal } from '../journal';
import { BLOCK, NO_BLOCK, VersionMismatch, dataStart, type Superblock } from '../layout';
import { readMeta } from '../meta-io';
import { PoolState } from '../state';
import type { CheckProblem } from '../types';
import { loadV1Checkpoint } from './checkpoint';
import { decodeV1Superblock, type V1Superblock } from './superblock';

/** A version-1 pool read into a PoolState, for the upgrade to write as version 2. */
export interface V1Loaded {
  /** Its superblock is version 2's shape with the version-1 geometry and no bitmap copies yet. */
  state: PoolState;
  /** What the audit found (auditState): such a pool is not upgraded. */
  problems: CheckProblem[];
  usedBackup: boolean;
  found: V1Superblock;
}

function readCopy(device: DaxDevice, path: string, at: number, what: string): V1Superblock | VersionMismatch | string {
  try {
    return decodeV1Superblock(readMeta(device, path, at, BLOCK, what));
  } catch (e) {
    if (!isErrnoError(e, 'EIO')) throw e;
    return 'unreadable (poisoned)';
  }
}

/**
 * The version-1 superblock copy a load of version 1 would use, or null when there is none: a primary of
 * another version is that pool whatever its backup holds (an upgrade writes the backup first, so a
 * version-2 backup beside a version-1 primary is an upgrade that did not reach its switch).
 */
function pickV1Superblock(device: DaxDevice, path: string): { sb: V1Superblock; usedBackup: boolean } | null {
  if (device.size < 8 * BLOCK) return null;
  const primary = readCopy(device, path, 0, 'primary superblock');
  if (primary instanceof VersionMismatch) return null;
  const lastAt = typeof primary === 'object' ? (primary.blocks - 1) * BLOCK : (Math.floor(device.size / BLOCK) - 1) * BLOCK;
  const backup = lastAt > 0 && lastAt + BLOCK <= device.size ? readCopy(device, path, lastAt, 'backup superblock') : 'outside the device';
  const v1Backup = typeof backup === 'object' && !(backup instanceof VersionMismatch) ? backup : null;
  if (typeof primary === 'object') {
    const newer = v1Backup !== null && v1Backup.seq > primary.seq && v1Backup.blocks === primary.blocks;
    return { sb: newer ? v1Backup : primary, usedBackup: false };
  }
  return v1Backup === null ? null : { sb: v1Backup, usedBackup: true };
}

/**
 * Read a version-1 pool: its checkpoint image, then the journal of its epoch (the record format is the
 * same in both versions), then audit the result. Null when the device holds no version-1 pool. What
 * cannot be decoded is ERR_PMEMDAX_CORRUPT.
 */
export function loadV1Pool(device: DaxDevice, path: string): V1Loaded | null {
  const picked = pickV1Superblock(device, path);
  if (picked === null) return null;
  const v1 = picked.sb;
  if (v1.blocks * BLOCK > device.size) throw corrupt(path, 'superblock', 0, `pool of ${v1.blocks * BLOCK} bytes on a device of ${device.size}`);
  const start = dataStart(v1);
  const sb: Superblock = {
    uuid: v1.uuid,
    blocks: v1.blocks,
    journalStart: v1.journalStart,
    journalBlocks: v1.journalBlocks,
    seq: v1.seq,
    epoch: v1.epoch,
    // None yet: an empty range at the start of the data area overlaps no block.
    bitmapAt: [start, start],
    bitmapBlocks: 0,
    roots: { names: NO_BLOCK, inodes: NO_BLOCK, extents: NO_BLOCK, shared: NO_BLOCK },
    treePages: 0,
    inodeCount: 0,
    sharedCount: 0,
    nextIno: 1,
    metaBytes: 0,
    orphans: 0,
    deferredBlocks: 0,
    dirty: v1.dirty,
    shutdownCount: v1.shutdownCount,
    identity: v1.identity,
  };
  const state = new PoolState(sb, path, device);
  loadV1Checkpoint(device, state, v1);
  // The checkpoint's blocks are metadata: a journal record may not name them, and the audit checks they are used.
  const meta = new Uint32Array(state.alloc.bitmap.length);
  for (let i = 0; i < v1.ckptRuns.length; i += 2) setBits(meta, v1.ckptRuns[i] as number, v1.ckptRuns[i + 1] as number);
  state.metaBlocks = meta;
  new Journal(device, sb).replay(state);
  state.alloc.recount();
  const problems = auditState(state);
  state.measure();
  return { state, problems, usedBackup: picked.usedBackup, found: v1 };
}
