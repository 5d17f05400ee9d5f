import { Device } from '../device/device';
import { isErrnoError } from '../errors';
import { Pool, type PoolInfo, type PoolStatfs, type UnsafeShutdownState } from '../pool';
import { JSON_OPTION, type Command } from './command';
import { ExitCode } from './exit';
import { fields, formatBytes, formatSize } from './format';
import { printJson, printLines } from './output';

/** unsafeShutdownWarning -- one line on the unsafe-shutdown record, or null when there is nothing to say. */
export function unsafeShutdownWarning(u: UnsafeShutdownState): string | null {
  if (u.mismatch) {
    return `the platform's unsafe-shutdown count changed while the pool was closed (recorded ${u.recorded ?? '?'}, ` +
      `now ${u.count ?? '?'}): writes that were not persisted before the power loss may be lost`;
  }
  if (u.identity !== null && u.recordedIdentity !== null && u.identity !== u.recordedIdentity) {
    return `the pool was last closed on another device (${u.recordedIdentity}, now ${u.identity})`;
  }
  return null;
}

function recoveryText(info: PoolInfo, writerRunning: boolean): string {
  const r = info.recovery;
  const parts: string[] = [];
  // Beside a running writer the records read are its commits since its last checkpoint, not a recovery.
  if (r.replayed > 0) parts.push(writerRunning ? `${r.replayed} journal records of the running writer read` : `${r.replayed} journal records replayed`);
  if (r.tornTail) parts.push('a torn journal record discarded');
  if (r.usedBackupSuperblock) parts.push('the backup superblock used');
  if (r.orphansFreed > 0) parts.push(`${r.orphansFreed} unlinked files freed`);
  const n = r.problems.length;
  if (n > 0) parts.push(`${n} problem${n === 1 ? '' : 's'} found (read-only: writing is refused; pmemdax check lists them)`);
  return parts.length === 0 ? 'none needed' : parts.join(', ');
}

/** What the device's memory keeps at power off, when the device can tell. */
function persistenceText(pool: Pool): string | null {
  if (!(pool.device instanceof Device)) return null;
  const d = pool.device.info;
  if (d.volatile) return `volatile${d.daxBacking === null ? '' : ` (${d.daxBacking})`}: the pool is lost at power off`;
  if (d.persistence === 'unknown') return 'unknown: sysfs does not say what memory backs this device-dax';
  return d.persistence;
}

/**
 * Does a process hold the pool open for writing now? A writer (and a grow, an upgrade, a format) keeps an
 * exclusive flock, so a shared one cannot be had; a reader takes none. Asked through a read-only open (a
 * user who may only read the pool may ask too); one that cannot be had at all says nothing either way.
 */
function writerRunning(path: string): boolean {
  try {
    Device.open(path, { readonly: true, lock: 'shared' }).close();
    return false;
  } catch (e) {
    return isErrnoError(e, 'EAGAIN');
  }
}

function infoLines(info: PoolInfo, fs: PoolStatfs, persistence: string | null, writer: boolean): string[] {
  const u = info.unsafeShutdown;
  const used = fs.dataBlocks - fs.freeBlocks;
  const rows: [string, string][] = [
    ['path', info.path],
    ['uuid', info.uuid],
    ['format version', String(info.formatVersion)],
    ['size', formatSize(info.size)],
    ['block size', String(info.blockSize)],
    ['journal', formatSize(info.journalBytes)],
    ['data blocks', `${fs.dataBlocks} (${used} used, ${fs.freeBlocks} free: ${formatBytes(fs.freeBlocks * fs.blockSize)})`],
    ['files', String(fs.files)],
    ['name max', `${fs.nameMax} bytes`],
    ['file size max', formatSize(fs.fileSizeMax)],
    ['device', `${info.kind}, ${info.granularity} granularity, MAP_SYNC ${info.mapSync ? 'yes' : 'no'}`],
    ...(persistence === null ? [] : [['persistence', persistence] as [string, string]]),
    ['last close', writer ? 'open for writing by a running process now (this is a snapshot of its newest commit)' : u.dirty ? 'not clean (the pool was open for writing when its process stopped)' : 'clean'],
    ['unsafe shutdowns', u.count === null ? 'not exposed by this platform' : `${u.count} (recorded at close: ${u.recorded ?? 'none'})`],
    ['recovery', recoveryText(info, writer)],
  ];
  const warning = unsafeShutdownWarning(u);
  if (warning !== null) rows.push(['warning', warning]);
  return fields(rows);
}

export const info: Command = {
  name: 'info',
  synopsis: '<pool>',
  summary: 'a pool\'s size, space, files, device, and how it was last closed',
  options: { json: JSON_OPTION },
  positional: [1, 1],
  paths: [0],
  async run(args) {
    const path = args.positional[0] as string;
    using pool = Pool.open(path, { readonly: true });
    const fs = pool.statfs();
    const device = pool.device instanceof Device ? pool.device.info : null;
    const writer = pool.device instanceof Device && writerRunning(path);
    if (args.flags.has('json')) await printJson({ info: pool.info, statfs: fs, device, writerRunning: writer });
    else await printLines(infoLines(pool.info, fs, persistenceText(pool), writer));
    return ExitCode.OK;
  },
};
