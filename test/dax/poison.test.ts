import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DaxAccessMode, daxDirectAccess } from '../../lib/dax/direct-access';
import { Errno } from '../../lib/iomap/errno';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { MemFs } from '../../lib/testing/memfs';
import { MemoryDevice } from '../../lib/testing/memory-device';
import { runPoisonScenario } from './support/poison-scenario';

const PAGES = 64;

describe('poison (docs/semantics.md §1.2, §7)', { timeout: 60_000 }, () => {
  it('invariant 33: direct_access returns 1..nr pages, never a bad page in ACCESS mode, single pages over poison in RECOVERY mode', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(PAGES * 8 - 1), fc.integer({ min: 1, max: 16 })), { maxLength: 4 }),
        fc.nat(PAGES - 1),
        fc.integer({ min: 1, max: PAGES + 8 }),
        (bad, pgoff, nr) => {
          const dev = new MemoryDevice(PAGES * PAGE_SIZE);
          for (const [sector, count] of bad) dev.injectBadblock(sector * 512, Math.min(count * 512, dev.size - sector * 512));
          const isBad = (p: number) => dev.badblocks().some((b) => b.offset < (p + 1) * PAGE_SIZE && p * PAGE_SIZE < b.offset + b.length);
          const access = daxDirectAccess(dev, pgoff, nr, DaxAccessMode.ACCESS);
          if (isBad(pgoff)) {
            expect(access).toBe(-Errno.EHWPOISON);
          } else {
            expect(typeof access).not.toBe('number');
            if (typeof access === 'number') return;
            expect(access.pages).toBeGreaterThanOrEqual(1);
            expect(access.pages).toBeLessThanOrEqual(nr);
            expect(access.view.length).toBe(access.pages * PAGE_SIZE);
            expect(access.view.byteOffset - dev.bytes.byteOffset).toBe(pgoff * PAGE_SIZE);
            for (let p = pgoff; p < pgoff + access.pages; p++) expect(isBad(p)).toBe(false);
          }
          const rec = daxDirectAccess(dev, pgoff, nr, DaxAccessMode.RECOVERY_WRITE);
          expect(typeof rec).not.toBe('number');
          if (typeof rec === 'number') return;
          expect(rec.pages).toBeGreaterThanOrEqual(1);
          expect(rec.pages).toBeLessThanOrEqual(nr);
          if (isBad(pgoff)) expect(rec.pages).toBe(1);
          else for (let p = pgoff; p < pgoff + rec.pages; p++) expect(isBad(p)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('invariant 33: no device is EOPNOTSUPP, a closed one ENXIO, a negative count EINVAL, a zero count ERANGE', () => {
    const dev = new MemoryDevice(PAGES * PAGE_SIZE);
    expect(daxDirectAccess(null, 0, 1)).toBe(-Errno.EOPNOTSUPP);
    expect(daxDirectAccess(dev, 0, -1)).toBe(-Errno.EINVAL);
    expect(daxDirectAccess(dev, 0, 0)).toBe(-Errno.ERANGE);
    dev.close();
    expect(daxDirectAccess(dev, 0, 1)).toBe(-Errno.ENXIO);
  });

  it('invariant 34: the whole round trip through the shared scenario (the pmem guest runs it on fsdax)', async () => {
    const dev = new MemoryDevice(4 << 20);
    const o = await runPoisonScenario(dev, (offset, length) => dev.injectBadblock(offset, length));
    expect(o.shortRead).toBe(3 * PAGE_SIZE);
    expect(o.readError).toMatchObject({ code: 'EIO', offset: 3 * PAGE_SIZE });
    expect(o.unalignedError).toMatchObject({ code: 'EFAULT' });
    expect(o.unalignedChangedList).toBe(false);
    expect(o.recoveryWritten).toBe(PAGE_SIZE);
    expect(o.badAfter).toBe(0);
    expect(o.readBack).toBe(true);
  });

  it('invariant 34: a read over a bad sector fails with EIO (with the offset), or stops short before it', async () => {
    const dev = new MemoryDevice(4 << 20);
    const fs = new MemFs(dev);
    const f = fs.create('/poisoned');
    await fs.write(f, 0, new Uint8Array(8 * PAGE_SIZE).fill(7));
    const block = f.blockAt(3);
    dev.injectBadblock(block * PAGE_SIZE + 1024, 512);
    const buf = new Uint8Array(8 * PAGE_SIZE);
    expect(fs.read(f, 0, buf)).toBe(3 * PAGE_SIZE);
    expect(() => fs.read(f, 3 * PAGE_SIZE, buf)).toThrow(expect.objectContaining({ code: 'EIO', errno: -5, syscall: 'read', offset: 3 * PAGE_SIZE, path: '/poisoned' }));
    expect(() => fs.read(f, 3 * PAGE_SIZE + 2000, new Uint8Array(10))).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(fs.read(f, 4 * PAGE_SIZE, buf.subarray(0, PAGE_SIZE))).toBe(PAGE_SIZE);
  });

  it('invariant 34: a page-aligned full-page write clears the poison and the data reads back; an unaligned one changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(7), fc.nat(7), fc.integer({ min: 1, max: 4096 }), async (page, sector, unalignedLen) => {
        const dev = new MemoryDevice(4 << 20);
        const fs = new MemFs(dev);
        const f = fs.create();
        await fs.write(f, 0, new Uint8Array(8 * PAGE_SIZE).fill(1));
        const bad = f.blockAt(page) * PAGE_SIZE + sector * 512;
        dev.injectBadblock(bad, 512);
        const before = dev.badblocks();
        // Unaligned: nothing written over the bad page, the list unchanged, EFAULT.
        const off = page * PAGE_SIZE + (unalignedLen === 4096 ? 1 : 0);
        const len = unalignedLen === 4096 ? 4095 : unalignedLen;
        await expect(fs.write(f, off, new Uint8Array(len).fill(2))).rejects.toMatchObject({ code: 'EFAULT' });
        expect(dev.badblocks()).toEqual(before);
        // Aligned: the recovery write clears the sectors and the data is there.
        const data = new Uint8Array(PAGE_SIZE).fill(9);
        expect(await fs.write(f, page * PAGE_SIZE, data)).toBe(PAGE_SIZE);
        expect(dev.badblocks()).toEqual([]);
        const back = new Uint8Array(PAGE_SIZE);
        expect(fs.read(f, page * PAGE_SIZE, back)).toBe(PAGE_SIZE);
        expect(back.every((b) => b === 9)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('a multi-page aligned write over one bad page writes the good pages normally and recovers the bad one', async () => {
    const dev = new MemoryDevice(4 << 20);
    const fs = new MemFs(dev);
    const f = fs.create();
    await fs.write(f, 0, new Uint8Array(6 * PAGE_SIZE).fill(1));
    dev.injectBadblock(f.blockAt(2) * PAGE_SIZE, PAGE_SIZE);
    dev.injectBadblock(f.blockAt(4) * PAGE_SIZE + 3584, 512);
    const data = new Uint8Array(6 * PAGE_SIZE).map((_, i) => (i % 251) + 1);
    expect(await fs.write(f, 0, data)).toBe(6 * PAGE_SIZE);
    expect(dev.badblocks()).toEqual([]);
    const back = new Uint8Array(6 * PAGE_SIZE);
    expect(fs.read(f, 0, back)).toBe(back.length);
    expect(Buffer.compare(back, data)).toBe(0);
  });

  it('§7.2: zeroing a whole bad page clears it; zeroing part of one is EIO; punching a hole leaves the list alone', async () => {
    const dev = new MemoryDevice(4 << 20);
    const fs = new MemFs(dev);
    const f = fs.create();
    await fs.write(f, 0, new Uint8Array(4 * PAGE_SIZE).fill(3));
    const b1 = f.blockAt(1) * PAGE_SIZE;
    dev.injectBadblock(b1 + 512, 512);
    await expect(fs.zeroRange(f, PAGE_SIZE + 100, 200)).rejects.toMatchObject({ code: 'EIO' });
    expect(dev.badblocks()).toHaveLength(1);
    expect(await fs.zeroRange(f, PAGE_SIZE, PAGE_SIZE)).toBe(true);
    expect(dev.badblocks()).toEqual([]);
    const b2 = f.blockAt(2) * PAGE_SIZE;
    dev.injectBadblock(b2, 512);
    await fs.punch(f, 2 * PAGE_SIZE, PAGE_SIZE);
    expect(dev.badblocks()).toEqual([{ offset: b2, length: 512 }]);
    const back = new Uint8Array(PAGE_SIZE);
    expect(fs.read(f, 2 * PAGE_SIZE, back)).toBe(PAGE_SIZE);
    expect(back.every((b) => b === 0)).toBe(true);
  });

  it('a CoW copy-around whose source is poisoned fails with EIO and leaves the file as it was', async () => {
    const dev = new MemoryDevice(4 << 20);
    const fs = new MemFs(dev);
    const f = fs.create();
    await fs.write(f, 0, new Uint8Array(2 * PAGE_SIZE).fill(4));
    const g = fs.create();
    await fs.reflink(f, 0, g, 0, 2 * PAGE_SIZE);
    dev.injectBadblock(f.blockAt(0) * PAGE_SIZE, 512);
    await expect(fs.write(g, 1000, new Uint8Array(10).fill(5))).rejects.toMatchObject({ code: 'EIO' });
    expect(g.blockAt(0)).toBe(f.blockAt(0));
    expect(fs.check()).toEqual([]);
  });
});
