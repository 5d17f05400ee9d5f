import type { DaxDevice } from '../device/types';
import { PmemdaxError, isErrnoError } from '../errors';
import { auditClean, auditState } from './audit';
import { loadCheckpoint, loadShared } from './checkpoint';
import { corrupt, readingTrees } from './errors';
import { Claims } from './claims';
import { Journal, type ReplayResult } from './journal';
import { deferFrees, holdLoadedFrees } from './load-frees';
import { BLOCK, FORMAT_VERSION, VersionMismatch, decodeSuperblock, type Superblock } from './layout';
import { readMeta } from './meta-io';
import { PoolState } from './state';
import type { CheckProblem } from './types';

// Loading a pool: telling one from other media, picking a superblock, and reading the checkpoint and
// the journal into a PoolState (make.ts writes a new pool).

/**
 * Written over the primary superblock before anything else when formatting starts, and replaced by the
 * superblock when it ends: media that carry it hold an unfinished format of ours, never anyone's data.
 */
export const FORMAT_MARKER = 'PMEMDAXF';
/** Byte signatures: the marker here, the other formats' in make.ts. */
export const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

export function startsWith(bytes: Uint8Array, at: number, signature: readonly number[]): boolean {
  return at + signature.length <= bytes.length && signature.every((b, i) => bytes[at + i] === b);
}

/** Is there a valid superblock (either copy) on the device? */
export function hasPool(device: DaxDevice): boolean {
  try {
    return typeof pickSuperblock(device, '').sb === 'object';
  } catch (e) {
    return e instanceof PmemdaxError && e.code === 'ERR_PMEMDAX_FORMAT_VERSION';
  }
}

/** A superblock copy, or why it is not usable; poison makes a copy unusable, the other may serve. */
function readSuperblock(device: DaxDevice, path: string, at: number, what: string): { sb: Superblock | VersionMismatch | string; poison: Error | null } {
  try {
    return { sb: decodeSuperblock(readMeta(device, path, at, BLOCK, what)), poison: null };
  } catch (e) {
    if (!isErrnoError(e, 'EIO')) throw e;
    return { sb: 'unreadable (poisoned)', poison: e };
  }
}

export function pickSuperblock(device: DaxDevice, path: string): { sb: Superblock; usedBackup: boolean } {
  if (device.size < 8 * BLOCK) throw corrupt(path, 'superblock', 0, `not a pmemdax pool (only ${device.size} bytes)`);
  const first = readSuperblock(device, path, 0, 'primary superblock');
  // A whole primary of another version is that pool, whatever the backup holds: an upgrade writes the
  // backup first, so a backup of this version beside it is an upgrade that did not reach its switch.
  if (first.sb instanceof VersionMismatch) throw versionError(path, first.sb.version);
  const primary = reason(first.sb);
  const lastAt = typeof primary === 'object' ? (primary.blocks - 1) * BLOCK : (Math.floor(device.size / BLOCK) - 1) * BLOCK;
  let backup: Superblock | string = 'outside the device';
  let backupVersion = -1;
  if (lastAt > 0 && lastAt + BLOCK <= device.size) {
    const second = readSuperblock(device, path, lastAt, 'backup superblock');
    if (second.sb instanceof VersionMismatch) backupVersion = second.sb.version;
    backup = reason(second.sb);
    if (typeof backup !== 'object' && first.poison !== null) throw first.poison;
  }
  if (typeof primary === 'object') {
    const newer = typeof backup === 'object' && backup.seq > primary.seq && backup.blocks === primary.blocks;
    return { sb: newer ? (backup as Superblock) : primary, usedBackup: false };
  }
  if (typeof backup === 'object') return { sb: backup, usedBackup: true };
  // Neither copy is one this library reads: a pool of another version, if the backup says so.
  if (backupVersion >= 0) throw versionError(path, backupVersion);
  if (primary === 'no pool signature' && backup === 'no pool signature') {
    const unfinished = startsWith(readMeta(device, path, 0, FORMAT_MARKER.length, 'primary superblock'), 0, ascii(FORMAT_MARKER));
    throw corrupt(path, 'superblock', 0, unfinished ? 'not a pmemdax pool (its formatting never finished)' : 'not a pmemdax pool (no signature)');
  }
  throw corrupt(path, 'superblock', 0, `${primary}; backup at offset ${lastAt}: ${backup}`);
}

function reason(sb: Superblock | VersionMismatch | string): Superblock | string {
  return sb instanceof VersionMismatch ? `format version ${sb.version}` : sb;
}

/** A pool of another format version: nothing of it is read or written. */
function versionError(path: string, version: number): PmemdaxError {
  const how = version === 1
    ? `this library reads version ${FORMAT_VERSION} only: upgrade it in place with 'pmemdax upgrade' (Pool.upgrade; docs/format.md, "Format versions")`
    : version < FORMAT_VERSION ? `this library reads version ${FORMAT_VERSION} only (see docs/format.md, "Format versions")` : 'it was made by a newer pmemdax';
  return new PmemdaxError('ERR_PMEMDAX_FORMAT_VERSION', `pool '${path}' has format version ${version}: ${how}`, { path });
}

export interface Loaded {
  state: PoolState;
  /** What the load-time audit found (auditState): the pool can be read, not written. */
  problems: CheckProblem[];
  replay: ReplayResult;
  usedBackup: boolean;
  /** The superblock as read (before this open changed anything). */
  found: Superblock;
  /** Positioned after the last valid record. */
  journal: Journal;
}

/** How `loadPool` reads a pool. */
export interface LoadOptions {
  /** For writing: what breaks an invariant writing relies on is ERR_PMEMDAX_CORRUPT. */
  readonly writable?: boolean;
  /** Every inode, even after a clean close. */
  readonly whole?: boolean;
  /**
   * For a writer's open, whose frees wait for readers' snapshots (load-frees.ts); a pool whose last writer
   * held frees back is then loaded whole, to find them.
   */
  readonly writer?: boolean;
  /**
   * For a reader beside a live writer: inodes read as calls need them even though the pool is not cleanly
   * closed, and the journal's records applied over the checkpoint (reader.ts).
   */
  readonly live?: boolean;
  /**
   * With `live`, on a pool opened without loading: the journal's records are found and kept, not applied
   * (Journal.follow), as a reader's refresh keeps them.
   */
  readonly keep?: boolean;
  /**
   * Asked when the pool needs recovery (a crash left its journal with records): true when the media check
   * clean (`checkPool`, which walks them in constant memory). Then the journal is replayed over the
   * checkpoint with inodes read as the records need them, as a reader beside a writer does, instead of
   * loading and auditing every inode (docs/design.md, "Recovering without loading").
   */
  readonly mediaClean?: () => boolean;
}

/**
 * Read a pool: a superblock, then, after a clean close (unless `whole`), no more (openClean); else its
 * checkpoint, every inode of it, then the journal of its epoch, then audit the result.
 * What cannot be decoded is ERR_PMEMDAX_CORRUPT; what decodes but breaks an invariant writing relies
 * on is listed in `problems`, and with `writable` it is ERR_PMEMDAX_CORRUPT too, naming the first.
 */
export function loadPool(device: DaxDevice, path: string, opts: LoadOptions = {}): Loaded {
  const { writable = false, whole = false, writer = false, live = false, keep = false, mediaClean } = opts;
  const { sb, usedBackup } = pickSuperblock(device, path);
  if (sb.blocks * BLOCK > device.size) throw corrupt(path, 'superblock', 0, `pool of ${sb.blocks * BLOCK} bytes on a device of ${device.size}`);
  const claims = writer ? Claims.of(device, sb.journalBlocks) : null;
  const held = writer && sb.deferredBlocks > 0;
  const lazyOk = !(whole || held || usedBackup || sb.metaBytes < 0 || sb.orphans > 0);
  let lazy = lazyOk && (!sb.dirty || live) ? openClean(device, path, sb, { live, keep }) : null;
  if (lazy === null && lazyOk && !live && mediaClean?.() === true) lazy = openClean(device, path, sb, { recovering: true, claims });
  if (lazy !== null) {
    if (writable && lazy.problems.length > 0) throw refuseWriting(path, lazy.problems);
    countFree(lazy.state, lazy.journal, writer, claims);
    return lazy;
  }
  const state = new PoolState(sb, path, device);
  loadCheckpoint(device, state, sb);
  const journal = new Journal(device, sb);
  // Readers that hold snapshots now may reach what the replay frees.
  if (claims !== null && claims.anyBefore()) state.alloc.replayFrees = [];
  const replay = journal.replay(state, live);
  countFree(state, journal, writer, claims);
  const problems = auditState(state);
  if (writable && problems.length > 0) throw refuseWriting(path, problems);
  state.measure();
  // The trees hold every inode the journal did not change as memory has it: those need not stay.
  state.inodes.trim();
  return { state, problems, replay, usedBackup, found: sb, journal };
}

/**
 * The open of a pool closed cleanly (docs/design.md, "Opening in constant time"): the bitmap and the shared
 * blocks' counts are read, no inode is; they are read from the trees as they are needed. Null when the
 * journal holds records after all (a pool whose writer died after a clean close had been recorded cannot
 * be one, but the journal decides): then the pool is loaded whole, as after a crash. `live`: a reader beside
 * a writer, which applies the journal's records so far. `recovering`: a pool whose media checked clean after
 * a crash, whose records are applied the same way (a writer's open holds back for readers what they free,
 * as a whole load does); null if they do not apply after all, and the pool is loaded whole.
 */
function openClean(device: DaxDevice, path: string, sb: Superblock, how: { live?: boolean; keep?: boolean; recovering?: boolean; claims?: Claims | null }): Loaded | null {
  const { live = false, keep = false, recovering = false, claims = null } = how;
  const state = new PoolState(sb, path, device);
  state.nextIno = sb.nextIno;
  state.alloc.bitmap.set(state.bitmapCopies.read(device, path, sb, state.alloc.bitmap.length));
  readingTrees(path, () => loadShared(state.trees.store, state, sb, () => {}));
  state.openLazily();
  // Readers that hold snapshots now may reach what the replay frees.
  if (claims !== null && claims.anyBefore()) state.alloc.replayFrees = [];
  const journal = new Journal(device, sb);
  let replay: ReplayResult;
  try {
    replay = journal.replay(state, live, live && keep);
  } catch (e) {
    if (recovering && e instanceof PmemdaxError && e.code === 'ERR_PMEMDAX_CORRUPT') return null;
    throw e;
  }
  if (!live && !recovering && (replay.records > 0 || replay.torn)) return null;
  // The tree cells the replayed records map, counted for the checkpoint a recovering writer writes next.
  if (recovering) state.recountReplayed();
  return { state, problems: auditClean(state), replay, usedBackup: false, found: sb, journal };
}

/**
 * After the replay, whole or lazy: a writer's frees wait for readers from now on, and what the replay freed
 * that their snapshots may still reach is held back (load-frees.ts); then the free counts are made, once.
 */
function countFree(state: PoolState, journal: Journal, writer: boolean, claims: Claims | null): void {
  if (writer) {
    deferFrees(state, journal, claims);
    holdLoadedFrees(state);
  }
  state.alloc.recount();
}

function refuseWriting(path: string, problems: readonly CheckProblem[]): PmemdaxError {
  const first = problems[0] as CheckProblem;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return new PmemdaxError(
    'ERR_PMEMDAX_CORRUPT',
    `pool '${path}' is corrupt: ${first.what} at ${first.where}: ${first.message}${more}; it cannot be opened for writing, open it read-only to copy its files out`,
    { path },
  );
}
