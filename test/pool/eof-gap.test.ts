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
          pool.closeSync();
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
      pool.closeSync();
    });
  }
});

describe('the pool: sync writes past EOF while async calls are queued (the EOF block tail is theirs or free)', () => {
  const START = PAGE_SIZE + 904;
  const data = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

  /** A file of START bytes of 9 with garbage past EOF, and (`queue`) an fsync queued so later async calls wait. */
  function scribbled(queue: boolean): { pool: Pool; f: ReturnType<Pool['open']>; fsynced: Promise<void> } {
    const device = new MemoryDevice(8 * MiB);
    const pool = Pool.createOn(device);
    const f = pool.open('f', { create: true });
    f.writeSync(data(START, 9), 0);
    const ext = f.fiemap(START - 1, 1)[0] as { physical: number; logical: number };
    device.fill(ext.physical + (START - ext.logical), 0xab, 2 * PAGE_SIZE - START);
    return { pool, f, fsynced: queue ? f.fsync() : Promise.resolve() };
  }

  function expectFile(f: ReturnType<Pool['open']>, pieces: readonly [number, Uint8Array][], size: number): void {
    expect(f.size).toBe(size);
    const model = new Uint8Array(size);
    model.fill(9, 0, START);
    for (const [pos, bytes] of pieces) model.set(bytes, pos);
    const got = new Uint8Array(size);
    f.readSync(got, 0);
    expect(got.findIndex((b, i) => b !== model[i])).toBe(-1);
  }

  const CASES: readonly { name: string; running?: true; run(f: ReturnType<Pool['open']>): Promise<{ pieces: [number, Uint8Array][]; size: number }> }[] = [
    {
      name: 'a running write at EOF (its bytes copied, the size not moved yet): writeSync further past is EAGAIN, never a zeroing of them',
      running: true,
      run: async (f) => {
        const w = f.write(data(100, 1), START);
        expect(() => f.writeSync(data(100, 2), START + 1500)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
        await w;
        f.writeSync(data(100, 2), START + 1500);
        return { pieces: [[START, data(100, 1)], [START + 1500, data(100, 2)]], size: START + 1600 };
      },
    },
    {
      name: 'a queued write inside the gap: writeSync past it is EAGAIN and changes nothing; after it lands, it works',
      run: async (f) => {
        const w = f.write(data(100, 1), START + 500);
        expect(() => f.writeSync(data(100, 2), START + 1500)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
        expect(f.size).toBe(START);
        await w;
        f.writeSync(data(100, 2), START + 1500);
        return { pieces: [[START + 500, data(100, 1)], [START + 1500, data(100, 2)]], size: START + 1600 };
      },
    },
    {
      name: 'a queued write past the EOF page: writeSync inside the gap zeroes up to its data and runs at once',
      run: async (f) => {
        const w = f.write(data(100, 1), 3 * PAGE_SIZE);
        f.writeSync(data(100, 2), START + 800);
        await w;
        return { pieces: [[3 * PAGE_SIZE, data(100, 1)], [START + 800, data(100, 2)]], size: 3 * PAGE_SIZE + 100 };
      },
    },
    {
      name: 'a queued append: appendSync goes after it, the append covers the gap, nothing is zeroed under it',
      run: async (f) => {
        const a = f.append(data(300, 1));
        expect(f.appendSync(data(200, 2))).toBe(START + 300);
        expect(await a).toBe(START);
        return { pieces: [[START, data(300, 1)], [START + 300, data(200, 2)]], size: START + 500 };
      },
    },
    {
      name: 'a queued write at EOF: writeSync right after its end needs no zeroing and runs at once',
      run: async (f) => {
        const w = f.write(data(100, 1), START);
        f.writeSync(data(100, 2), START + 100);
        await w;
        return { pieces: [[START, data(100, 1)], [START + 100, data(100, 2)]], size: START + 200 };
      },
    },
  ];
  for (const c of CASES) {
    it(c.name, async () => {
      const { pool, f, fsynced } = scribbled(c.running !== true);
      const { pieces, size } = await c.run(f);
      await fsynced;
      expectFile(f, pieces, size);
      await f.truncate(3 * PAGE_SIZE + 200);
      expectFile(f, pieces, 3 * PAGE_SIZE + 200);
      expect(pool.check().problems).toEqual([]);
      pool.closeSync();
    });
  }
});
