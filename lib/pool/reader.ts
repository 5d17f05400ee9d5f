import { statSync } from 'node:fs';
import { PmemdaxError } from '../errors';
import { checkPool } from './check';
import { Claims, type CommitPoint } from './claims';
import type { CheckReport } from './types';
import type { PoolDevice } from './device';
import { yieldInPlace } from './in-place-gate';
import { BLOCK, SB_EPOCH_AT, type Superblock } from './layout';
import { loadPool, pickSuperblock, type Loaded } from './load';
import { readMeta } from './meta-io';

/** A reader's snapshot: what it loaded, and the commit it claims. */
export interface Snapshot {
  readonly loaded: Loaded;
  readonly point: CommitPoint;
}

/** Tries, a millisecond apart, before a reader gives up on a checkpoint lock that stays held. */
const TRIES = 1000;
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
const EPOCH = new Uint8Array(8);

/** Thrown by a reader's open whose mapping the writer's grow overtook: the caller opens the device again. */
export class GrewUnderOpen {}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Did a writer's grow overtake `device` since it was opened: a pool of `blocks` larger than the mapping, and
 * the file at least as large (a pool larger than its file is damage, as the load says)?
 */
export function grewPast(device: PoolDevice, path: string, blocks: number): boolean {
  return blocks * BLOCK > device.size && fileSize(path) >= blocks * BLOCK;
}

/**
 * A reader's refresh (or check) past a writer's `grow`, when superblock `sb` holds more than its device maps:
 * the device maps the new blocks in the address space its open reserved (nothing it mapped moves: files and
 * regions of older snapshots stay valid). A device that cannot (a grow past the reservation, a device without
 * `grow`) is ERR_PMEMDAX_SIZE: the pool must be opened again.
 */
function followGrow(device: PoolDevice, path: string, sb: Superblock): void {
  const bytes = sb.blocks * BLOCK;
  if (bytes <= device.size) return;
  const refused = (): PmemdaxError =>
    new PmemdaxError('ERR_PMEMDAX_SIZE', `pool '${path}' grew to ${bytes} bytes after this reader opened it (${device.size}), beyond what its open can map: open it again`, { path });
  if (device.grow === undefined) throw refused();
  try {
    device.grow(bytes);
  } catch (e) {
    throw (e as { code?: unknown }).code === 'ERR_PMEMDAX_SIZE' ? refused() : e;
  }
}

/** The claims of the pool on `device`: readers' snapshots (null on a device without range locks, as a memory device). */
export function claimsOn(device: PoolDevice & Required<Pick<PoolDevice, 'rangeLock' | 'rangeConflict'>>, path: string): Claims;
export function claimsOn(device: PoolDevice, path: string): Claims | null;
export function claimsOn(device: PoolDevice, path: string): Claims | null {
  return Claims.of(device, pickSuperblock(device, path).sb.journalBlocks);
}

/**
 * Claim (E, 0) for the epoch E the superblock names, once no checkpoint is between its question about claims
 * and its switch (the checkpoint lock): a checkpoint then sees the claim, and keeps everything of E's state
 * it frees. Held on return; `looked` sees each superblock read first (it may refuse it).
 */
function claimEpoch(device: PoolDevice, path: string, claims: Claims, refused: string, looked?: (sb: Superblock) => void): CommitPoint {
  for (let tries = 0; ; tries++) {
    if (tries === TRIES) {
      // An offline change (grow, upgrade, format) holds the checkpoint lock throughout, or a writer checkpoints without pause.
      throw new PmemdaxError('ERR_PMEMDAX_POOL_LOCKED', `pool '${path}' is being changed by another open: ${refused} in ${TRIES} tries`, { path });
    }
    if (tries > 0) Atomics.wait(SLEEPER, 0, 0, 1);
    const { sb } = pickSuperblock(device, path);
    looked?.(sb);
    const first = { epoch: sb.epoch, seq: 0 };
    claims.claim(first);
    if (!claims.checkpointBusy() && pickSuperblock(device, path).sb.epoch === sb.epoch) {
      try {
        inPlaceDone(claims, path);
      } catch (e) {
        claims.drop(first);
        throw e;
      }
      return first;
    }
    claims.drop(first);
  }
}

/** Tries, a millisecond apart, before a reader gives up on a writer that goes on writing in place. */
const IN_PLACE_TRIES = 5000;

/**
 * After a claim, before the reading: wait until no writer writes committed blocks in place (in-place-gate.ts).
 * The writer's device watch sees the claim within milliseconds, its writes copy from then on, and the lock
 * goes once its in-place stores are made, busy writer thread or not: the reader then reads them whole, and
 * nothing in place after. A writer on this thread cannot run while this waits: it is made to let go at once.
 */
function inPlaceDone(claims: Claims, path: string): void {
  for (let tries = 0; claims.inPlaceBusy(); tries++) {
    // Each time: a watch in the middle of its release (between its swap and its look at the stores) leaves
    // the first one nothing to do, and stores this thread gathered would then wait for this thread.
    yieldInPlace();
    if (tries === 0) continue;
    if (tries === IN_PLACE_TRIES) {
      throw new PmemdaxError('ERR_PMEMDAX_POOL_LOCKED', `pool '${path}': the writer did not stop writing in place within ${IN_PLACE_TRIES} ms (its process stopped, or its thread busy with in-place stores waiting for a job)`, { path });
    }
    Atomics.wait(SLEEPER, 0, 0, 1);
  }
}

/**
 * The newest committed state, for a read-only open beside a writer (docs/design.md, "Live readers"), with
 * the reader's claim on it held on return. The claim comes first, then the reading, so that the writer,
 * which frees nothing a claim reaches, cannot free what is being read:
 *   1. claim (E, 0) for the superblock's epoch E, older than every state of E (claimEpoch);
 *   2. load: the checkpoint of E (its inodes as calls need them) and E's records, as far as they check out
 *      (`keep`: found and kept, applied when a call needs what they change: Journal.follow);
 *   3. if the superblock moved on while the records were read, a checkpoint may have reset the journal
 *      under the reading, and a writer that saw no claim when those records' frees were made let them go:
 *      start again. Else the state is (E, records read): claim it, drop (E, 0).
 * With no writer on the pool (none announces itself) a pool that was not closed cleanly is loaded whole, as
 * any read-only open of it is, and claimed all the same: a writer that opens it next frees nothing the
 * reader reaches.
 */
export function openSnapshot(device: PoolDevice, path: string, claims: Claims, whole: boolean, refreshing = false, keep = false): Snapshot {
  // A writer's pool.grow since this reader's device was opened: its mapping does not reach the new blocks.
  // (At an open the device has the file's size: a pool larger than it is damage, as the load says.)
  const notGrown = (sb: Superblock): void => {
    if (refreshing) followGrow(device, path, sb);
    // The writer grew the file between this open's mapping and its read of the superblock: no damage.
    else if (grewPast(device, path, sb.blocks)) throw new GrewUnderOpen();
  };
  for (let tries = 0; ; tries++) {
    if (tries === TRIES) {
      throw new PmemdaxError('ERR_PMEMDAX_POOL_LOCKED', `pool '${path}': the writer checkpointed during each of ${TRIES} tries to read a snapshot`, { path });
    }
    const first = claimEpoch(device, path, claims, 'no snapshot could be taken', notGrown);
    const { epoch } = first;
    let loaded: Loaded;
    try {
      loaded = loadPool(device, path, { whole, live: claims.writerLive(), keep, mediaClean: () => checkPool(device, path, null).ok });
    } catch (e) {
      claims.drop(first);
      // What a checkpoint overwrote while it was read (the bitmap copy of the epoch before) is no damage.
      if (pickSuperblock(device, path).sb.epoch !== epoch) continue;
      throw e;
    }
    if (loaded.found.epoch !== epoch || pickSuperblock(device, path).sb.epoch !== epoch) {
      claims.drop(first);
      continue;
    }
    const point = { epoch, seq: loaded.journal.headSeq };
    if (point.seq > 0) {
      claims.claim(point);
      claims.drop(first);
    }
    return { loaded, point };
  }
}

/**
 * Move a reader holding `from` to the newest commit of the same epoch: the records written since are found,
 * checked and kept with its state (Journal.follow), to be applied when a call needs what they change. Null when the writer has checkpointed since (a new epoch), or an earlier refresh
 * failed part way (Journal.outOfStep): the state cannot follow the journal there, a new snapshot is needed. Holding `from` throughout, the reader reaches nothing the
 * writer may have freed, whatever it reads.
 */
export function followJournal(device: PoolDevice, path: string, claims: Claims, loaded: Loaded, from: CommitPoint): CommitPoint | null {
  if (loaded.journal.outOfStep) return null;
  // The primary's epoch alone, unchecked: a superblock being switched reads as the old epoch or the new one,
  // and either answer is safe here (the old: its records, under the claim held; the new: a new snapshot).
  const epochNow = (): number => {
    readMeta(device, path, SB_EPOCH_AT, 8, 'primary superblock', EPOCH);
    return Number(new DataView(EPOCH.buffer).getBigUint64(0, true));
  };
  if (epochNow() !== from.epoch) return null;
  try {
    loaded.journal.follow(loaded.state, true);
  } catch (e) {
    // A writer that checkpointed meanwhile writes the journal over from its start: what was read of it may be
    // that, not damage. The state is at a commit (or out of step): a new snapshot follows.
    if (epochNow() !== from.epoch) return null;
    throw e;
  }
  const point = { epoch: from.epoch, seq: loaded.journal.headSeq };
  if (point.seq !== from.seq) {
    claims.claim(point);
    claims.drop(from);
  }
  return point;
}

/** Checks of a live pool made again when the writer moved under them, before the last one is reported as it is. */
const CHECK_TRIES = 5;

/**
 * `check` of the pool on `device` as it is committed now, beside a writer or not (docs/design.md, "Live
 * readers"): under a claim on the checkpoint it reads, so that no page of its trees is freed under the walk.
 * The check reads what a claim does not hold -- both superblock copies, the checkpoint's bitmap copy and the
 * journal -- at its start; when the writer checkpointed twice meanwhile (the bitmap copy read is written
 * again), or was live and the check found problems, it is made again (a superblock being written, a record
 * being appended, are no damage), CHECK_TRIES times at most.
 */
export function checkSnapshot(device: PoolDevice, path: string, claims: Claims, progress?: (done: number, total: number) => void, following = false): CheckReport {
  for (let tries = 1; ; tries++) {
    // `following`: a reader's own open, which maps what a writer's grow added (as its refresh does).
    const first = claimEpoch(device, path, claims, 'it could not be checked', following ? (sb) => followGrow(device, path, sb) : undefined);
    try {
      const live = claims.writerLive();
      const report = checkPool(device, path, null, progress, undefined, live);
      const moved = pickSuperblock(device, path).sb.epoch >= first.epoch + 2;
      if (tries < CHECK_TRIES && (moved || (!report.ok && (live || claims.writerLive())))) continue;
      return report;
    } finally {
      claims.drop(first);
    }
  }
}
