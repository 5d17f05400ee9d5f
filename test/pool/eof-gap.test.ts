import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { MemFs, MemoryDevice, NO_BLOCK } from '../../lib/testing';
import { memFsFile, poolGrowFile } from './support/eof-gap-backends';
import { eofGapSuite } from './support/eof-gap-suite';

const MiB = 1024 * 1024;

describe('bytes past EOF stay invisible when the file grows: MemFs (stores into the EOF block on the device)', () => {
  eofGapSuite({
    name: 'MemFs',
    make: async () => {
      const fs = new MemFs(new MemoryDevice(4 * MiB));
      return { file: memFsFile(fs, fs.create()), dispose: () => undefined };
    },
  });
});

describe('bytes past EOF stay invisible when the file grows: pool on a MemoryDevice (stores into the EOF block on the device)', () => {
  eofGapSuite({
    name: 'pool on MemoryDevice',
    make: async () => {
      const device = new MemoryDevice(8 * MiB);
      const pool = Pool.createOn(device);
      const f = pool.open('f', { create: true });
      return {
        file: poolGrowFile(pool, f, device),
        dispose: () => {
          expect(pool.check().problems).toEqual([]);
          pool.close();
        },
      };
    },
  });
});

describe('MemFs, the reference the pool is tested against, matches the kernel at EOF', () => {
  it('a zero-length pwrite past EOF returns 0 and leaves the size', async () => {
    const fs = new MemFs(new MemoryDevice(MiB));
    const inode = fs.create();
    await fs.write(inode, 0, new Uint8Array(100).fill(1));
    for (const pos of [100, 101, 5000, 10 * PAGE_SIZE]) {
      expect(await fs.write(inode, pos, new Uint8Array(0))).toBe(0);
      expect(inode.size).toBe(100);
    }
  });

  const PUNCHES: readonly { name: string; pos: number; len: number }[] = [
    { name: 'from the EOF page start to past EOF', pos: PAGE_SIZE, len: 2 * PAGE_SIZE },
    { name: 'from the EOF page start to exactly EOF', pos: PAGE_SIZE, len: 904 },
    { name: 'from inside the file to past EOF, unaligned', pos: 100, len: PAGE_SIZE + 1000 },
    { name: 'the whole file and more', pos: 0, len: 3 * PAGE_SIZE + 7 },
  ];
  for (const p of PUNCHES) {
    it(`a punch-hole ${p.name} frees the EOF block: SEEK_DATA finds no data there (ENXIO), it reads as zeros`, async () => {
      const fs = new MemFs(new MemoryDevice(MiB));
      const inode = fs.create();
      await fs.write(inode, 0, new Uint8Array(PAGE_SIZE + 904).fill(9));
      await fs.punch(inode, p.pos, p.len);
      expect(inode.size).toBe(PAGE_SIZE + 904);
      expect(inode.blockAt(1)).toBe(NO_BLOCK);
      expect(() => fs.seekData(inode, Math.max(p.pos, PAGE_SIZE))).toThrow(expect.objectContaining({ code: 'ENXIO' }));
      const b = new Uint8Array(inode.size);
      fs.read(inode, 0, b);
      expect(b.subarray(p.pos).every((x) => x === 0)).toBe(true);
      expect(b.subarray(0, p.pos).every((x) => x === 9)).toBe(true);
      expect(fs.check()).toEqual([]);
    });
  }
});

describe('the pool: a punch-hole reaching EOF frees the EOF block too', () => {
  for (const [pos, len] of [[PAGE_SIZE, 2 * PAGE_SIZE], [PAGE_SIZE, 904], [100, PAGE_SIZE + 1000], [0, 3 * PAGE_SIZE + 7]] as const) {
    it(`punch [${pos}, +${len}) of a ${PAGE_SIZE + 904}-byte file`, async () => {
      const pool = Pool.createOn(new MemoryDevice(8 * MiB));
      const f = pool.open('f', { create: true });
      f.writeSync(new Uint8Array(PAGE_SIZE + 904).fill(9), 0);
      await f.fallocate('punch-hole', pos, len);
      expect(f.size).toBe(PAGE_SIZE + 904);
      // Page 0 keeps its block unless the punch starts at 0; the EOF page is always gone.
      expect(f.stat().allocated).toBe(pos === 0 ? 0 : PAGE_SIZE);
      expect(() => f.seekData(Math.max(pos, PAGE_SIZE))).toThrow(expect.objectContaining({ code: 'ENXIO' }));
      const b = new Uint8Array(f.size);
      f.readSync(b, 0);
      expect(b.subarray(pos).every((x) => x === 0)).toBe(true);
      expect(b.subarray(0, pos).every((x) => x === 9)).toBe(true);
      expect(pool.check().problems).toEqual([]);
      pool.close();
    });
  }
});
