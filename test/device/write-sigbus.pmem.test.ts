// Writes through a real DAX mapping that meet a SIGBUS end in an error, not in the process's death. On
// fsdax two things fault a store: a page the file lost (truncated by another open), and a page whose disk
// sectors are in the pmem driver's badblocks list (the DAX fault refuses to map it). Device-dax has
// neither here (it cannot be truncated, and this guest has no writable poison list for it): there every
// guarded write must simply land, byte for byte.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device } from '../../lib/index';
import { expectFault, storeTable, thrown } from './support/store-table';
import { MiB, PAGE, SECTOR, diskBadblocks, diskOffsetOf, injectBadblocks, listed, pmemMedium } from '../support/pmem';

const medium = pmemMedium;
const SIZE = 4 * MiB;
const LOST = 1 * MiB;

describe.skipIf(medium === null || medium.devdax)('writes through a fsdax mapping that meet SIGBUS', () => {
  if (medium === null || medium.blockDevice === null) return;
  const disk = medium.blockDevice;
  let dir: string;
  let path: string;
  let injected: { sector: number; count: number }[];

  beforeEach(() => {
    injected = [];
    dir = mkdtempSync(join(medium.path, 'write-sigbus-'));
    path = join(dir, 'dev');
    using d = Device.open(path, { create: true, size: SIZE });
    d.fill(0, 0x11, SIZE); // every page has its block, and the blocks stay put
  });

  afterEach(() => {
    // A page-aligned write(2) is the kernel's recovery write: it clears what a failing test left listed.
    for (const p of injected) {
      if (!listed(diskBadblocks(disk), p.sector, p.count)) continue;
      const fd = openSync(path, 'r+');
      try {
        writeSync(fd, Buffer.alloc(2 * PAGE), 0, 2 * PAGE, LOST);
      } finally {
        closeSync(fd);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  // Without the write-backs: the guest's CPU is emulated (TCG), whose clwb/clflushopt never touch the
  // page, so they cannot fault here as they do on real hardware (the host test covers them).
  const cases = storeTable(LOST, 'cacheline').filter((c) => c.expect.syscall !== 'msync');

  it.each(cases.map((c) => [c.name, c] as const))(
    `${medium.name}, file truncated under the mapping, %s: EIO naming the lost mapping`,
    (_name, c) => {
      using d = Device.open(path);
      expect(d.info.mapSync).toBe(true);
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, LOST);
        expectFault(thrown(() => c.run(d)), c.expect, 'EIO', /the mapping is gone: the file was truncated to 1048576 bytes/);
        if (c.written) expect(c.written.check(d.readSafe(c.written.offset, c.written.length))).toBe(true);
        d.copy(0, new Uint8Array([1, 2, 3]));
        expect(Array.from(d.readSafe(0, 3))).toEqual([1, 2, 3]);
      } finally {
        closeSync(fd);
      }
    },
  );

  it.each(cases.map((c) => [c.name, c] as const))(
    `${medium.name}, two pages in the badblocks list, %s: EIO naming poisoned media`,
    (_name, c) => {
      const sector = diskOffsetOf(path, LOST) / SECTOR;
      const count = (2 * PAGE) / SECTOR;
      expect(diskOffsetOf(path, LOST + PAGE)).toBe(diskOffsetOf(path, LOST) + PAGE);
      injectBadblocks(disk, sector, count);
      injected.push({ sector, count });
      // The list only affects new faults: map the file afresh.
      using d = Device.open(path);
      expectFault(thrown(() => c.run(d)), c.expect, 'EIO', /\(poisoned media\)$/);
      if (c.written) expect(c.written.check(d.readSafe(c.written.offset, c.written.length))).toBe(true);
      expect(d.badblocks().some((r) => r.offset <= LOST && LOST < r.offset + r.length)).toBe(true);
      d.clearBadblocks(LOST, 2 * PAGE);
      expect(listed(diskBadblocks(disk), sector, count)).toBe(false);
      c.run(d); // healed: the same write now succeeds
    },
  );
});

describe.skipIf(medium === null || !medium.devdax)('guarded writes on device-dax', () => {
  if (medium === null) return;
  const cases = storeTable(LOST, 'cacheline');

  it.each(cases.map((c) => [c.name, c] as const))(`${medium.name}: %s lands byte for byte with the guard in place`, (_name, c) => {
    using d = Device.open(medium.path);
    expect(d.size).toBeGreaterThanOrEqual(LOST + 4 * MiB);
    d.fill(0, 0x11, LOST + 4 * MiB);
    c.run(d);
    if (c.written) expect(c.written.check(d.readSafe(c.written.offset, c.written.length))).toBe(true);
  });
});
