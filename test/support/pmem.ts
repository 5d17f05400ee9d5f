// Helpers for the pmem suite, which runs inside the QEMU guest started by scripts/test-pmem.mjs.
// Outside the guest `pmemMedium` is null and every pmem test file skips itself.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type PmemMediumName = 'ext4-dax' | 'xfs-dax' | 'devdax-4k' | 'devdax-2m';

export interface PmemMedium {
  readonly name: PmemMediumName;
  /** The dax filesystem's mount point, or the device-dax character device. */
  readonly path: string;
  readonly devdax: boolean;
  /** The pmem block device under the filesystem (`pmem0`); null on device-dax. */
  readonly blockDevice: string | null;
  /** The device-dax alignment the namespace was made with; null on a filesystem. */
  readonly devdaxAlign: number | null;
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const PAGE = 4096;
export const SECTOR = 512;
export const CACHELINE = 64;
export const PROJECT_ROOT = join(__dirname, '..', '..');

function readMedium(): PmemMedium | null {
  const name = process.env.PMEMDAX_PMEM_MEDIUM;
  const path = process.env.PMEMDAX_PMEM_PATH;
  if (!name || !path) return null;
  if (name !== 'ext4-dax' && name !== 'xfs-dax' && name !== 'devdax-4k' && name !== 'devdax-2m') {
    throw new Error(`unknown PMEMDAX_PMEM_MEDIUM ${name}`);
  }
  const devdax = name.startsWith('devdax');
  return {
    name,
    path,
    devdax,
    blockDevice: devdax ? null : process.env.PMEMDAX_PMEM_BLOCKDEV || 'pmem0',
    devdaxAlign: name === 'devdax-4k' ? 4 * KiB : name === 'devdax-2m' ? 2 * MiB : null,
  };
}

/** The medium this guest run prepared, or null when not running in the pmem guest. */
export const pmemMedium: PmemMedium | null = readMedium();

/** A sector range of a pmem disk's badblocks list. */
export interface SectorRange {
  readonly sector: number;
  readonly count: number;
}

/** The kernel's badblocks list of a pmem disk, from `/sys/block/<dev>/badblocks`. */
export function diskBadblocks(blockDevice: string): SectorRange[] {
  return readFileSync(`/sys/block/${blockDevice}/badblocks`, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [sector, count] = line.trim().split(/\s+/).map(Number);
      return { sector: sector ?? NaN, count: count ?? NaN };
    });
}

/** True when any listed range overlaps [sector, sector + count). */
export function listed(list: readonly SectorRange[], sector: number, count: number): boolean {
  return list.some((r) => r.sector < sector + count && sector < r.sector + r.count);
}

/**
 * Adds sectors to the disk's badblocks list. That changes the list, not the media, but the pmem driver
 * consults the list for every read and DAX mapping, so the range behaves as poisoned until it is rewritten.
 */
export function injectBadblocks(blockDevice: string, sector: number, count: number): void {
  const fd = openSync(`/sys/block/${blockDevice}/badblocks`, 'w');
  try {
    writeSync(fd, `${sector} ${count}`);
  } finally {
    closeSync(fd);
  }
}

/** A file extent in bytes: file offset, offset on the block device, length. */
export interface Extent {
  readonly fileOffset: number;
  readonly diskOffset: number;
  readonly length: number;
}

/** The file's extents through FIEMAP (filefrag works on ext4 and xfs alike). */
export function fileExtents(path: string): Extent[] {
  const out = execFileSync('filefrag', ['-v', path], { encoding: 'utf8' });
  const bs = /blocks of (\d+) bytes/.exec(out);
  if (!bs) throw new Error(`unexpected filefrag output:\n${out}`);
  const blockSize = Number(bs[1]);
  const extents: Extent[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+(\d+)\.\.\s*(\d+):\s+(\d+):/.exec(line);
    if (!m) continue;
    extents.push({ fileOffset: Number(m[1]) * blockSize, diskOffset: Number(m[3]) * blockSize, length: Number(m[5]) * blockSize });
  }
  return extents;
}

/** Where a file byte lives on the block device. */
export function diskOffsetOf(path: string, fileOffset: number): number {
  const e = fileExtents(path).find((x) => x.fileOffset <= fileOffset && fileOffset < x.fileOffset + x.length);
  if (!e) throw new Error(`file offset ${fileOffset} of ${path} is not allocated`);
  return e.diskOffset + (fileOffset - e.fileOffset);
}

/** The VmFlags of every mapping of `path` in this process (`sf` is VM_SYNC, i.e. MAP_SYNC). */
export function mappingFlags(path: string): string[][] {
  const smaps = readFileSync('/proc/self/smaps', 'utf8').split('\n');
  const result: string[][] = [];
  let current = false;
  for (const line of smaps) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) current = line.trimEnd().endsWith(` ${path}`);
    else if (current && line.startsWith('VmFlags:')) result.push(line.slice('VmFlags:'.length).trim().split(/\s+/));
  }
  return result;
}

/** Runs a CommonJS script in a child node that loads the library from dist/, as an application would. */
export function runChild(script: string, args: readonly string[] = []): SpawnSyncReturns<string> {
  const lib = `const { Device, CopyFlags } = require(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'index.js'))});`;
  return spawnSync(process.execPath, ['-e', `${lib}\n${script}`, '--', ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
}
