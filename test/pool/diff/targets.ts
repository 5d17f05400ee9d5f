// The library's side of the differential test: the same operations on a pool file and on a MemFs
// file, each printed as diff-exec.c prints the kernel's results ("<result> <size after>").
import { constants } from 'node:os';
import { Pool, type PoolFile } from '../../../lib';
import { Device } from '../../../lib/device/device';
import { MemFs, memFsFile } from '../../../lib/testing';
import type { MemInode } from '../../../lib/testing/memfs-inode';
import type { DaxFile } from '../../../lib/vm/file';
import type { DaxRegion } from '../../../lib/vm/region';
import { PAGE, bytesResult, pattern, type FallocMode, type Op } from './ops';

/** One file of a filesystem under test, as the syscalls see it. */
export interface FileTarget {
  readonly size: number;
  write(off: number, data: Uint8Array): Promise<number>;
  read(off: number, target: Uint8Array): number;
  truncate(size: number): Promise<void>;
  fallocate(mode: FallocMode, off: number, len: number): Promise<void>;
  seekData(off: number): number;
  seekHole(off: number): number;
  mmap(off: number, len: number): DaxRegion;
}

/** A filesystem that gives a new, empty file for every sequence. */
export interface Filesystem {
  readonly name: string;
  fresh(): Promise<FileTarget>;
  close(): void;
}

/** -errno for a library error, as the executor prints a failed syscall. */
function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const n = typeof code === 'string' ? (constants.errno as Record<string, number>)[code] : undefined;
  if (n === undefined) throw e;
  return String(-n);
}

/** Runs `ops` on `file`, one result line each. */
export async function runOps(file: FileTarget, ops: readonly Op[]): Promise<string[]> {
  // An object, so that TypeScript sees apply() change it.
  const live: { region: DaxRegion | null } = { region: null };
  const out: string[] = [];
  for (const op of ops) {
    let result: string;
    try {
      result = await apply(op);
    } catch (e) {
      result = errnoOf(e);
    }
    out.push(`${result} ${file.size}`);
  }
  live.region?.unmap();
  return out;

  async function apply(op: Op): Promise<string> {
    switch (op.kind) {
      case 'W':
        return String(await file.write(op.off, pattern(op.seed, op.len)));
      case 'R':
        return readResult(file, op.off, op.len);
      case 'C':
        return readResult(file, 0, file.size);
      case 'T':
        await file.truncate(op.size);
        return '0';
      case 'F':
        await file.fallocate(op.mode, op.off, op.len);
        return '0';
      case 'D':
        return String(file.seekData(op.off));
      case 'H':
        return String(file.seekHole(op.off));
      case 'M':
        live.region?.unmap();
        live.region = file.mmap(op.off, op.len);
        return '0';
      case 'L':
      case 'S':
        return access(mapped(), op.off, op.len, op.kind === 'S' ? pattern(op.seed, op.len) : null);
      case 'Y':
        await mapped().sync();
        return '0';
      case 'U':
        live.region?.unmap();
        live.region = null;
        return '0';
    }
  }

  function mapped(): DaxRegion {
    if (live.region === null) throw new Error('the generator used a mapping that is not there');
    return live.region;
  }
}

function readResult(file: FileTarget, off: number, len: number): string {
  const buf = new Uint8Array(len);
  return bytesResult(buf.subarray(0, file.read(off, buf)));
}

/**
 * Loads or stores page by page, as the executor's byte loop reaches them: each page is faulted in
 * first (a region's pages are accessible only once faulted), and a fault that is SIGBUS ends the access.
 */
async function access(region: DaxRegion, off: number, len: number, data: Uint8Array | null): Promise<string> {
  const loaded = new Uint8Array(len);
  for (let at = off; at < off + len; ) {
    const stop = Math.min(off + len, (Math.floor(at / PAGE) + 1) * PAGE);
    try {
      await region.populate({ offset: at, length: stop - at }, data === null ? 'read' : 'write');
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ERR_PMEMDAX_SIGBUS') throw e;
      return `SIGBUS:${region.pgoff + Math.floor(at / PAGE)}`;
    }
    if (data === null) loaded.set(region.bytes.subarray(at, stop), at - off);
    else region.bytes.set(data.subarray(at - off, stop - off), at);
    at = stop;
  }
  return data === null ? bytesResult(loaded) : '0';
}

/** A pool on `path`; each sequence gets a new file in it. */
export function poolFilesystem(path: string): Filesystem {
  const pool = Pool.create(path, { size: 32 * 1024 * 1024 });
  let n = 0;
  let current: PoolFile | null = null;
  return {
    name: 'pool',
    fresh: async () => {
      if (current !== null) {
        current.close();
        pool.unlink(`f${n - 1}`);
      }
      const f = pool.open(`f${n++}`, { create: true });
      current = f;
      return {
        get size() {
          return f.size;
        },
        write: async (off, data) => f.writeSync(data, off),
        read: (off, target) => f.readSync(target, off),
        truncate: (size) => f.truncate(size),
        fallocate: (mode, off, len) => f.fallocate(mode, off, len),
        seekData: (off) => f.seekData(off),
        seekHole: (off) => f.seekHole(off),
        mmap: (offset, length) => f.mmap({ offset, length }),
      };
    },
    close: () => {
      current?.close();
      pool.closeSync();
    },
  };
}

/**
 * MemFs on a native Device at `path`. MemFs offers the filesystem's steps, not fallocate's modes:
 * a zero-range is what ext4 and xfs do for it (zeroInside), then an allocation of unwritten blocks
 * over the whole range.
 */
export function memFsFilesystem(path: string): Filesystem {
  const device = Device.open(path, { create: true, size: 16 * 1024 * 1024 });
  const fs = new MemFs(device);
  let current: { inode: MemInode; dax: DaxFile } | null = null;
  const release = async (): Promise<void> => {
    if (current === null) return;
    current.dax.close();
    await fs.truncate(current.inode, 0);
  };
  return {
    name: 'MemFs',
    fresh: async () => {
      await release();
      const inode = fs.create();
      const dax = memFsFile(fs, inode);
      current = { inode, dax };
      return {
        get size() {
          return inode.size;
        },
        write: (off, data) => fs.write(inode, off, data),
        read: (off, target) => fs.read(inode, off, target),
        truncate: (size) => fs.truncate(inode, size),
        fallocate: async (mode, off, len) => {
          if (mode === 'punch-hole') return fs.punch(inode, off, len);
          if (mode === 'zero-range') await zeroInside(fs, inode, off, Math.min(off + len, Math.ceil(inode.size / PAGE) * PAGE));
          fs.fallocate(inode, off, len, mode === 'keep-size');
        },
        seekData: (off) => fs.seekData(inode, off),
        seekHole: (off) => fs.seekHole(inode, off),
        mmap: (offset, length) => dax.mmap({ offset, length }),
      };
    },
    close: () => {
      current?.dax.close();
      device.close();
    },
  };
}

/**
 * The zeroing half of ZERO_RANGE over `[off, stop)`: whole blocks are freed (to come back unwritten),
 * partial ones are zeroed in place and stay written, as ext4_zero_range and xfs_free_file_space do.
 */
async function zeroInside(fs: MemFs, inode: MemInode, off: number, stop: number): Promise<void> {
  const first = Math.ceil(off / PAGE) * PAGE;
  const last = Math.floor(stop / PAGE) * PAGE;
  if (first >= last) {
    if (stop > off) await fs.zeroRange(inode, off, stop - off);
    return;
  }
  if (off < first) await fs.zeroRange(inode, off, first - off);
  await fs.punch(inode, first, last - first);
  if (stop > last) await fs.zeroRange(inode, last, stop - last);
}
