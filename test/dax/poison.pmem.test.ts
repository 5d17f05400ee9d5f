// The DAX layer's poison handling (docs/semantics.md §7.2, invariant 34) on real fsdax: the reference filesystem
// (MemFs) lays its files out on a Device over a file on the dax mount, and the poison is injected into the
// pmem disk's own badblocks list under the block MemFs chose.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device } from '../../lib/index';
import { runPoisonScenario } from './support/poison-scenario';
import { MiB, PAGE, SECTOR, diskBadblocks, diskOffsetOf, injectBadblocks, listed, pmemMedium } from '../support/pmem';

const medium = pmemMedium;

describe.skipIf(medium === null || medium.devdax)('DAX file I/O over real poison', () => {
  if (medium === null || medium.blockDevice === null) return;
  const disk = medium.blockDevice;
  let dir: string;
  let path: string;
  let injected: { fileOffset: number; sector: number; count: number }[];

  beforeEach(() => {
    injected = [];
    dir = mkdtempSync(join(medium.path, 'dax-poison-'));
    path = join(dir, 'dev');
    const d = Device.open(path, { create: true, size: 4 * MiB });
    d.fill(0, 0, 4 * MiB); // every page has a block on the disk
    d.close();
  });

  afterEach(() => {
    // Whatever a failing test left poisoned is healed by a page-aligned write(2), the kernel's recovery write.
    for (const p of injected) {
      if (!listed(diskBadblocks(disk), p.sector, p.count)) continue;
      const fd = openSync(path, 'r+');
      try {
        writeSync(fd, Buffer.alloc(PAGE), 0, PAGE, p.fileOffset - (p.fileOffset % PAGE));
      } finally {
        closeSync(fd);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${medium.name}: daxRead stops short before the bad page and fails with EIO on it; an unaligned write fails and leaves the list; a page-aligned daxWrite clears it`, async () => {
    using device = Device.open(path);
    const o = await runPoisonScenario(device, (offset, length) => {
      const sector = diskOffsetOf(path, offset) / SECTOR;
      const count = Math.ceil(length / SECTOR);
      injectBadblocks(disk, sector, count);
      injected.push({ fileOffset: offset, sector, count });
      expect(device.badblocks().some((r) => r.offset <= offset && offset < r.offset + r.length)).toBe(true);
    });
    expect(o.shortRead).toBe(3 * PAGE);
    expect(o.readError).toMatchObject({ code: 'EIO', offset: 3 * PAGE });
    expect(o.unalignedError).toMatchObject({ code: 'EFAULT' });
    expect(o.unalignedChangedList).toBe(false);
    expect(o.recoveryWritten).toBe(PAGE);
    expect(o.badAfter).toBe(0);
    expect(o.readBack).toBe(true);
    for (const p of injected) expect(listed(diskBadblocks(disk), p.sector, p.count)).toBe(false);
  });
});
