// Poison on pmem: sectors added to /sys/block/pmem0/badblocks act as media errors for reads and DAX
// faults until a recovery write clears them. Adding to the list does not unmap pages already mapped, so
// every check maps the file afresh after the injection (a new Device, or a child process).
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device, type ByteRange } from '../../lib/index';
import {
  PAGE, SECTOR, MiB, diskBadblocks, diskOffsetOf, injectBadblocks, listed, pmemMedium, runChild,
} from '../support/pmem';

const medium = pmemMedium;

const SIZE = 4 * MiB;
const FILL = 0xa5;

/** `fn` must throw an fs-style error with `code`; returns it. */
function thrown(fn: () => unknown, code: string): Error & { code?: string; offset?: number } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    const e = error as Error & { code?: string; offset?: number };
    expect(e.code).toBe(code);
    return e;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** read(2) of one page of the file: the kernel's own view of the poison. */
function preadPage(path: string, offset: number): Buffer | NodeJS.ErrnoException {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(PAGE);
    readSync(fd, buf, 0, PAGE, offset);
    return buf;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(medium === null || medium.devdax)('poison on fsdax', () => {
  if (medium === null || medium.blockDevice === null) return;
  const disk = medium.blockDevice;
  let dir: string;
  let path: string;
  /** Disk sectors this test made bad, so that afterEach can heal whatever the test left. */
  let injected: { path: string; fileOffset: number; sector: number; count: number }[];

  /** Marks `count` sectors bad, starting `sectorInPage` sectors into the file's page at `fileOffset`. */
  function poison(file: string, fileOffset: number, sectorInPage = 0, count = PAGE / SECTOR): number {
    const sector = diskOffsetOf(file, fileOffset) / SECTOR + sectorInPage;
    injectBadblocks(disk, sector, count);
    injected.push({ path: file, fileOffset, sector, count });
    expect(listed(diskBadblocks(disk), sector, count)).toBe(true);
    return sector;
  }

  beforeEach(() => {
    injected = [];
    dir = mkdtempSync(join(medium.path, 'poison-'));
    path = join(dir, 'dev');
    // Every page written, so every page has a block on the pmem disk.
    const d = Device.open(path, { create: true, size: SIZE });
    d.fill(0, FILL, SIZE);
    d.close();
  });

  afterEach(() => {
    // A page-aligned write(2) is the kernel's recovery write: it clears the poison left behind.
    for (const p of injected) {
      if (!listed(diskBadblocks(disk), p.sector, p.count)) continue;
      const fd = openSync(p.path, 'r+');
      try {
        writeSync(fd, Buffer.alloc(PAGE), 0, PAGE, p.fileOffset - (p.fileOffset % PAGE));
      } finally {
        closeSync(fd);
      }
    }
    rmSync(dir, { recursive: true, force: true });
    for (const p of injected) expect(listed(diskBadblocks(disk), p.sector, p.count)).toBe(false);
  });

  it(`${medium.name}: injected badblocks are reported at their file offsets, whole blocks, this file only`, () => {
    const s5 = poison(path, 5 * PAGE);
    poison(path, 9 * PAGE, 3, 1);
    // Poison in another file's blocks is not this device's business.
    const other = join(dir, 'other');
    Device.open(other, { create: true, size: 64 * 1024 }).close();
    const o = openSync(other, 'r+');
    writeSync(o, Buffer.alloc(64 * 1024, 1), 0, 64 * 1024, 0);
    closeSync(o);
    poison(other, 0);

    // The file's blocks are not where its offsets are: the FIEMAP translation is doing the work.
    expect(s5 * SECTOR).not.toBe(5 * PAGE);
    const d = Device.open(path);
    try {
      const expected: ByteRange[] = [{ offset: 5 * PAGE, length: PAGE }, { offset: 9 * PAGE, length: PAGE }];
      expect(d.badblocks()).toEqual(expected);
      // The kernel agrees about which pages are bad.
      expect((preadPage(path, 5 * PAGE) as NodeJS.ErrnoException).code).toBe('EIO');
      expect((preadPage(path, 9 * PAGE) as NodeJS.ErrnoException).code).toBe('EIO');
      expect((preadPage(path, 6 * PAGE) as Buffer)[0]).toBe(FILL);
    } finally {
      d.close();
    }
  });

  it(`${medium.name}: directAccess stops before a bad page, fails on it, and maps it alone in recovery mode`, () => {
    poison(path, 5 * PAGE);
    const d = Device.open(path);
    try {
      expect(d.directAccess(0, 16).pages).toBe(5);
      const e = thrown(() => d.directAccess(5, 1), 'EIO');
      expect(e.offset).toBe(5 * PAGE);
      expect(d.directAccess(6, 4).pages).toBe(4);
      expect(d.directAccess(5, 4, { recovery: true }).pages).toBe(1);
      // Poison added after the device was opened is seen once the list is asked for again.
      poison(path, 12 * PAGE);
      expect(d.badblocks()).toContainEqual({ offset: 12 * PAGE, length: PAGE });
      expect(d.directAccess(8, 16).pages).toBe(4);
    } finally {
      d.close();
    }
  });

  it(`${medium.name}: readSafe over poison throws EIO at the bad offset, and the process carries on`, () => {
    poison(path, 5 * PAGE);
    const d = Device.open(path);
    try {
      const e = thrown(() => d.readSafe(5 * PAGE - 100, 300), 'EIO');
      expect(e.offset).toBeGreaterThanOrEqual(5 * PAGE);
      expect(e.offset).toBeLessThan(6 * PAGE);
      const target = new Uint8Array(PAGE);
      thrown(() => d.copySafe(5 * PAGE, target), 'EIO');
      // Still alive, and the neighbours read fine.
      expect(d.readSafe(5 * PAGE - 100, 100).every((b) => b === FILL)).toBe(true);
      expect(d.readSafe(6 * PAGE, 100).every((b) => b === FILL)).toBe(true);
    } finally {
      d.close();
    }
  });

  it(`${medium.name}: a plain load from a poisoned page kills a child process with SIGBUS`, () => {
    poison(path, 5 * PAGE);
    const r = runChild(`
      const d = Device.open(process.argv[1]);
      const { view } = d.directAccess(5, 1, { recovery: true });
      process.stdout.write('loading\\n');
      const value = view[17];
      process.stdout.write('survived ' + value + '\\n');`, [path]);
    expect(r.stdout).toBe('loading\n');
    expect(r.status).toBeNull();
    expect(r.signal).toBe('SIGBUS');
    // The same load from a clean page is fine.
    const ok = runChild(`
      const d = Device.open(process.argv[1]);
      process.stdout.write(String(d.directAccess(4, 1).view[17]));`, [path]);
    expect(ok.signal).toBeNull();
    expect(ok.stdout).toBe(String(FILL));
  });

  it(`${medium.name}: clearBadblocks writes the data back through a recovery write and clears the entry`, () => {
    const sector = poison(path, 5 * PAGE);
    poison(path, 7 * PAGE);
    const d = Device.open(path);
    try {
      const data = new Uint8Array(PAGE).map((_, i) => i & 0xff);
      d.clearBadblocks(5 * PAGE, PAGE, data);
      expect(listed(diskBadblocks(disk), sector, PAGE / SECTOR)).toBe(false);
      expect(d.badblocks()).toEqual([{ offset: 7 * PAGE, length: PAGE }]);
      expect(Buffer.from(d.readSafe(5 * PAGE, PAGE)).equals(Buffer.from(data))).toBe(true);
      expect(d.directAccess(5, 1).view[255]).toBe(255);
      // Without data: zeros.
      d.clearBadblocks(7 * PAGE, PAGE);
      expect(d.badblocks()).toEqual([]);
      expect(d.readSafe(7 * PAGE, PAGE).every((b) => b === 0)).toBe(true);
      expect(d.directAccess(0, 16).pages).toBe(16);
    } finally {
      d.close();
    }
    // Durable: a new mapping and read(2) see the recovered data.
    const again = Device.open(path);
    try {
      expect(again.readSafe(5 * PAGE + 254, 2)).toEqual(new Uint8Array([254, 255]));
    } finally {
      again.close();
    }
    expect((preadPage(path, 5 * PAGE) as Buffer)[100]).toBe(100);
  });
});

describe.skipIf(medium === null || !medium.devdax)('poison on device-dax', () => {
  if (medium === null) return;

  it(`${medium.name}: no known poison, and clearing says what it would need`, () => {
    const d = Device.open(medium.path);
    try {
      expect(d.badblocks()).toEqual([]);
      const e = thrown(() => d.clearBadblocks(0, PAGE), 'ERR_PMEMDAX_CLEAR_UNSUPPORTED');
      expect(e.message.length).toBeGreaterThan(20);
    } finally {
      d.close();
    }
  });
});
