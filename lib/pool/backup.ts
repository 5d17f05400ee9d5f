import { constants, promises as fsp, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PmemdaxError, errnoError, isErrnoError, type ErrnoCode } from '../errors';
import { CANCEL } from './backup-thread';
import type { Claims } from './claims';
import type { PoolDevice } from './device';
import { BLOCK, dataEnd, dataStart, encodeSuperblock, inBitmapCopies, type Superblock } from './layout';
import { pickSuperblock, type Loaded } from './load';
import { readMeta } from './meta-io';
import { POOL_FILE_MODE } from './media';
import { openSnapshot } from './reader';
import type { BackupReport, PoolBackupOptions } from './types';

/** Bytes a read of the source moves at a time: on device-dax a copy from the mapping, between turns of the backups' thread. */
const SLICE = 256 * 1024;
/** Snapshots taken before a backup gives up on a writer that checkpoints between its reads. */
const TRIES = 100;

/** What the copy is made of: the snapshot's state, and the metadata a claim does not hold, read under it. */
interface Capture {
  readonly sb: Superblock;
  readonly loaded: Loaded;
  /** The checkpoint's bitmap copy (copy epoch & 1), which the writer's second checkpoint from now rewrites. */
  readonly bitmap: Uint8Array;
  /** The snapshot's journal records, up to the last one it applied; a checkpoint resets the journal. */
  readonly journal: Uint8Array;
}

/**
 * A consistent copy of the pool on `device` into a new file `dest` (docs/design.md, "Live readers"): the
 * newest committed state, beside a writer or not. A snapshot is claimed as a reader claims one, so no block
 * it reaches is handed out again while the copy runs; the metadata a claim does not hold (the superblock,
 * the checkpoint's bitmap copy, the journal up to the snapshot) is read at once and checked to be the
 * snapshot's (the epoch did not move); then every block the snapshot's bitmap uses is copied, a slice at a
 * time between turns of the event loop. The copy is written under a temporary name beside `dest`, made
 * durable, and only then linked as `dest` (never over an existing file).
 */
export async function backupPool(device: PoolDevice, path: string, claims: Claims, dest: string, opts: PoolBackupOptions): Promise<BackupReport> {
  await refuseExisting(dest);
  const capture = takeCapture(device, path, claims);
  const point = { epoch: capture.sb.epoch, seq: capture.loaded.journal.seq };
  let held = true;
  // Once the last block is read the copy needs nothing of the source: the writer may reuse what it froze.
  const release = (): void => {
    if (held) claims.drop(point);
    held = false;
  };
  try {
    const runs = usedRuns(capture.loaded, capture.sb);
    const total = runs.reduce((n, [, count]) => n + count * BLOCK, 0) + capture.bitmap.length + capture.journal.length + 2 * BLOCK;
    const source = await openSource(path, device);
    try {
      const cancel = (opts as { [CANCEL]?: AbortSignal })[CANCEL];
      const bytes = await writeCopy(dest, capture, runs, source, total, opts.progress, release, cancel);
      return { path: dest, bytes, epoch: point.epoch, seq: point.seq };
    } finally {
      await source.close();
    }
  } finally {
    release();
  }
}

/** A snapshot with its metadata read while its epoch is still the pool's; taken again if a checkpoint came between. */
function takeCapture(device: PoolDevice, path: string, claims: Claims): Capture {
  for (let tries = 0; ; tries++) {
    const snap = openSnapshot(device, path, claims, false);
    const { loaded } = snap;
    const sb = loaded.found;
    const bitmap = readMeta(device, path, (sb.bitmapAt[sb.epoch & 1] as number) * BLOCK, sb.bitmapBlocks * BLOCK, 'bitmap copy');
    const journal = readMeta(device, path, loaded.journal.offset, loaded.journal.tail, 'journal');
    if (pickSuperblock(device, path).sb.epoch === sb.epoch) return { sb, loaded, bitmap, journal };
    claims.drop(snap.point);
    if (tries === TRIES) {
      throw new PmemdaxError('ERR_PMEMDAX_POOL_LOCKED', `pool '${path}': the writer checkpointed during each of ${TRIES} tries to read a snapshot for a backup`, { path });
    }
  }
}

/** Runs of data blocks the snapshot uses (its files' blocks and its trees' pages), bitmap copies apart. */
function usedRuns(loaded: Loaded, sb: Superblock): [number, number][] {
  const bitmap = loaded.state.alloc.bitmap;
  const runs: [number, number][] = [];
  const end = dataEnd(sb);
  for (let b = dataStart(sb); b < end; b++) {
    // Whole free words are passed over: most of a large pool's bitmap is.
    if ((b & 31) === 0 && bitmap[b >>> 5] === 0) {
      b += 31;
      continue;
    }
    if (((bitmap[b >>> 5] as number) & (1 << (b & 31))) === 0 || inBitmapCopies(sb, b)) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] + last[1] === b) last[1]++;
    else runs.push([b, 1]);
  }
  return runs;
}

/** Where the blocks are read from: a file by the thread pool's reads, device-dax (no read(2)) by its mapping. */
interface Source {
  read(offset: number, into: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

async function openSource(path: string, device: PoolDevice): Promise<Source> {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    stats = { isCharacterDevice: () => true } as Stats;
  }
  if (stats.isCharacterDevice()) {
    return {
      async read(offset, into) {
        for (let at = 0; at < into.length; at += SLICE) {
          device.copySafe(offset + at, into.subarray(at, Math.min(into.length, at + SLICE)));
          await turn();
        }
      },
      async close() {},
    };
  }
  const fh = await fsp.open(path, constants.O_RDONLY);
  return {
    async read(offset, into) {
      let done = 0;
      while (done < into.length) {
        const { bytesRead } = await fh.read(into, done, into.length - done, offset + done);
        if (bytesRead === 0) throw errnoError('EIO', 'read', { path, offset: offset + done });
        done += bytesRead;
      }
    },
    close: () => fh.close(),
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Where a backup's temporary copy goes: beside `dest` (for the link), named for this process, not for `dest` (any length). */
export const BACKUP_TEMP_PREFIX = '.pmemdax-backup-';

function backupTempName(dest: string): string {
  return join(dirname(dest), `${BACKUP_TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** Write the copy under a temporary name, make it durable, then link it as `dest`; the temporary goes either way. */
async function writeCopy(dest: string, capture: Capture, runs: [number, number][], source: Source, total: number,
  progress: ((done: number, total: number) => void) | undefined, readAll: () => void, cancel?: AbortSignal): Promise<number> {
  const { sb } = capture;
  const io = atDest(dest);
  const temp = backupTempName(dest);
  const out = await fsp.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, POOL_FILE_MODE).catch(io);
  let done = 0;
  const wrote = async (bytes: Uint8Array, at: number): Promise<void> => {
    for (let off = 0; off < bytes.length;) off += (await out.write(bytes, off, bytes.length - off, at + off).catch(io)).bytesWritten;
    done += bytes.length;
    progress?.(done, total);
    cancel?.throwIfAborted();
  };
  try {
    await out.truncate(sb.blocks * BLOCK).catch(io);
    // (A loop, not Math.max(...runs): a fragmented pool has more runs than a call takes arguments.)
    let longest = 1;
    for (const [, n] of runs) longest = Math.max(longest, n);
    const buf = new Uint8Array(Math.min(4 * 1024 * 1024, longest * BLOCK));
    for (const [first, count] of runs) {
      for (let b = first; b < first + count;) {
        const n = Math.min(first + count - b, buf.length / BLOCK);
        const slice = buf.subarray(0, n * BLOCK);
        await source.read(b * BLOCK, slice);
        await wrote(slice, b * BLOCK);
        b += n;
      }
    }
    readAll();
    // The metadata last: the copy is a pool only once its blocks are in.
    await wrote(capture.bitmap, (sb.bitmapAt[sb.epoch & 1] as number) * BLOCK);
    await wrote(capture.journal, sb.journalStart * BLOCK);
    const superblock = new Uint8Array(BLOCK);
    superblock.set(encodeSuperblock(sb));
    await wrote(superblock, 0);
    await wrote(superblock, (sb.blocks - 1) * BLOCK);
    await out.sync().catch(io);
    await fsp.link(temp, dest).catch(io);
    await syncDirectory(dirname(dest)).catch(io);
    return done;
  } finally {
    await out.close().catch(() => undefined);
    await fsp.unlink(temp).catch(() => undefined);
  }
}

/** A file system's error about the copy (its temporary, the link), said of `dest`: the name the caller knows. */
function atDest(dest: string): (e: unknown) => never {
  return (e) => {
    if (!isErrnoError(e)) throw e;
    const { code, syscall } = e as { code: ErrnoCode; syscall?: string };
    throw errnoError(code, syscall ?? 'open', { path: dest });
  };
}

/** A backup never replaces a file: said before the copy is made (the link at its end says it again in a race). */
async function refuseExisting(dest: string): Promise<void> {
  try {
    await fsp.lstat(dest);
  } catch (e) {
    if (isErrnoError(e, 'ENOENT')) return;
    atDest(dest)(e);
  }
  throw errnoError('EEXIST', 'open', { path: dest, detail: 'a backup is not written over an existing file' });
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
