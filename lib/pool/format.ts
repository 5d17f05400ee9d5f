import { randomBytes } from 'node:crypto';
import type { DaxDevice } from '../device/types';
import { PmemdaxError, isErrnoError } from '../errors';
import { loadCheckpoint } from './checkpoint';
import { crc32c } from './crc32c';
import { encodeCheckpoint, writeRuns } from './checkpoint';
import { corrupt } from './errors';
import { Journal, type ReplayResult } from './journal';
import { BLOCK, dataStart, decodeSuperblock, defaultJournalBlocks, encodeSuperblock, type Superblock } from './layout';
import { readMeta } from './meta-io';
import { PoolState } from './state';

export interface FormatOptions {
  readonly journalBytes?: number;
  readonly progress?: (done: number, total: number) => void;
}

/** Smallest pool: superblocks, a 64 KiB journal, and room for a checkpoint and some data. */
export const MIN_POOL_BYTES = 256 * 1024;
const ZERO_CHUNK = 1 << 20;

/**
 * Write an empty pool on `device`: zero the journal (records of an earlier pool must not replay),
 * write the first checkpoint, then the backup superblock and last the primary, so a valid primary
 * means a complete pool.
 */
export function formatPool(device: DaxDevice, path: string, opts: FormatOptions): void {
  const blocks = Math.min(Math.floor(device.size / BLOCK), 0xfffffffe);
  if (blocks * BLOCK < MIN_POOL_BYTES) {
    throw new PmemdaxError('ERR_PMEMDAX_SIZE', `a pool needs at least ${MIN_POOL_BYTES} bytes; '${path}' has ${device.size}`, { path });
  }
  const journalBlocks = opts.journalBytes === undefined ? defaultJournalBlocks(blocks) : Math.ceil(opts.journalBytes / BLOCK);
  if (!(journalBlocks >= 16) || 1 + journalBlocks + 8 > blocks) {
    throw new PmemdaxError('ERR_PMEMDAX_SIZE', `journal of ${journalBlocks} blocks does not fit a pool of ${blocks} blocks (it needs 16 or more)`, { path });
  }
  const sb: Superblock = {
    uuid: new Uint8Array(randomBytes(16)),
    blocks,
    journalStart: 1,
    journalBlocks,
    seq: 0,
    epoch: 1,
    ckptRuns: [],
    ckptBytes: 0,
    ckptCrc: 0,
    dirty: false,
    shutdownCount: -1,
    identity: '',
  };
  const total = journalBlocks * BLOCK;
  for (let done = 0; done < total; done += ZERO_CHUNK) {
    device.fill(BLOCK + done, 0, Math.min(ZERO_CHUNK, total - done));
    opts.progress?.(Math.min(done + ZERO_CHUNK, total), total);
  }
  const state = new PoolState(sb, path);
  state.alloc.markUsed(0, dataStart(sb));
  state.alloc.markUsed(blocks - 1, 1);
  // The first checkpoint is small: one block per 32 Ki blocks of bitmap, plus a header block.
  const blocksNeeded = Math.ceil((64 + state.alloc.bitmap.byteLength) / BLOCK);
  sb.ckptRuns = [dataStart(sb), blocksNeeded];
  state.alloc.markUsed(dataStart(sb), blocksNeeded);
  const image = encodeCheckpoint(state, sb.epoch, state.alloc.bitmap);
  sb.ckptBytes = image.length;
  sb.ckptCrc = crc32c(image);
  writeRuns(device, sb.ckptRuns, image);
  const bytes = encodeSuperblock({ ...sb, seq: 1 });
  device.copy((blocks - 1) * BLOCK, bytes);
  device.copy(0, bytes);
}

/** Is there a valid superblock (either copy) on the device? */
export function hasPool(device: DaxDevice): boolean {
  try {
    return typeof pickSuperblock(device, '').sb === 'object';
  } catch {
    return false;
  }
}

/** A superblock copy, or why it is not usable; poison makes a copy unusable, the other may serve. */
function readSuperblock(device: DaxDevice, path: string, at: number, what: string): { sb: Superblock | string; poison: Error | null } {
  try {
    return { sb: decodeSuperblock(readMeta(device, path, at, BLOCK, what)), poison: null };
  } catch (e) {
    if (!isErrnoError(e, 'EIO')) throw e;
    return { sb: 'unreadable (poisoned)', poison: e };
  }
}

function pickSuperblock(device: DaxDevice, path: string): { sb: Superblock; usedBackup: boolean } {
  if (device.size < 8 * BLOCK) throw corrupt(path, 'superblock', 0, `not a pmemdax pool (only ${device.size} bytes)`);
  const first = readSuperblock(device, path, 0, 'primary superblock');
  const primary = first.sb;
  const lastAt = typeof primary === 'object' ? (primary.blocks - 1) * BLOCK : (Math.floor(device.size / BLOCK) - 1) * BLOCK;
  let backup: Superblock | string = 'outside the device';
  if (lastAt > 0 && lastAt + BLOCK <= device.size) {
    const second = readSuperblock(device, path, lastAt, 'backup superblock');
    backup = second.sb;
    if (typeof backup !== 'object' && first.poison !== null) throw first.poison;
  }
  if (typeof primary === 'object') {
    const newer = typeof backup === 'object' && backup.seq > primary.seq && backup.blocks === primary.blocks;
    return { sb: newer ? (backup as Superblock) : primary, usedBackup: false };
  }
  if (typeof backup === 'object') return { sb: backup, usedBackup: true };
  if (primary === 'no pool signature' && backup === 'no pool signature') throw corrupt(path, 'superblock', 0, 'not a pmemdax pool (no signature)');
  throw corrupt(path, 'superblock', 0, `${primary}; backup at offset ${lastAt}: ${backup}`);
}

export interface Loaded {
  state: PoolState;
  replay: ReplayResult;
  usedBackup: boolean;
  /** The superblock as read (before this open changed anything). */
  found: Superblock;
  /** Positioned after the last valid record. */
  journal: Journal;
}

/** Read a pool: a superblock, its checkpoint, then the journal of its epoch. */
export function loadPool(device: DaxDevice, path: string): Loaded {
  const { sb, usedBackup } = pickSuperblock(device, path);
  if (sb.blocks * BLOCK > device.size) throw corrupt(path, 'superblock', 0, `pool of ${sb.blocks * BLOCK} bytes on a device of ${device.size}`);
  const state = new PoolState(sb, path);
  loadCheckpoint(device, state, sb);
  const journal = new Journal(device, sb);
  const replay = journal.replay(state);
  state.alloc.recount();
  return { state, replay, usedBackup, found: sb, journal };
}
