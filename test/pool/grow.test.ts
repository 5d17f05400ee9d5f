import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice, SimulatedCrash, StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';
import { rng } from '../support/rng';
import { scratchPerTest } from '../support/scratch';

const MiB = 1024 * 1024;
const SMALL = 8 * MiB;
const LARGE = 24 * MiB;

/** A pool of SMALL bytes with a few files (blocks shared by a clone among them), at the start of a LARGE image. */
async function smallPoolImage(): Promise<{ image: Uint8Array; crashed: Uint8Array; files: Map<string, Uint8Array> }> {
  const dev = new MemoryDevice(SMALL);
  const files = new Map<string, Uint8Array>();
  const crashed = new Uint8Array(LARGE);
  const next = rng(5);
  {
    using pool = Pool.createOn(dev);
    for (let i = 0; i < 12; i++) {
      const bytes = new Uint8Array(i === 0 ? 300 * 1024 : Math.floor(next() * 400_000)).map(() => Math.floor(next() * 256));
      using f = pool.open(`f${i}`, { create: true });
      f.writeSync(bytes, 0);
      files.set(`f${i}`, bytes);
    }
    using a = pool.open('f0');
    using c = pool.open('clone', { create: true });
    await a.clone(c, 0, 0, 256 * 1024);
    files.set('clone', (files.get('f0') as Uint8Array).slice(0, 256 * 1024));
    // The pool as a crash would leave it: its changes in the journal, not in a checkpoint.
    crashed.set(dev.bytes);
  }
  const image = new Uint8Array(LARGE);
  image.set(dev.bytes);
  return { image, crashed, files };
}

function expectFiles(pool: Pool, files: Map<string, Uint8Array>): void {
  expect([...pool.list()].sort()).toEqual([...files.keys()].sort());
  for (const [name, bytes] of files) {
    using f = pool.open(name, { readonly: true });
    const out = new Uint8Array(bytes.length);
    expect(f.readSync(out, 0)).toBe(bytes.length);
    expect(Buffer.compare(out, bytes), name).toBe(0);
  }
  const report = pool.check();
  expect(report.problems).toEqual([]);
}

describe('growing a pool (Pool.grow, Pool.growOn; docs/format.md, "Growing a pool")', () => {
  it('takes the new blocks as free space, keeps every file, and the new space is used by new files', async () => {
    const { image, files } = await smallPoolImage();
    const dev = memoryDeviceFromImage(image);
    Pool.growOn(dev);
    using pool = Pool.openOn(dev);
    expect(pool.info.size).toBe(LARGE);
    expect(pool.statfs().blocks).toBe(LARGE / 4096);
    expectFiles(pool, files);
    const free = pool.statfs().freeBlocks;
    expect(free).toBeGreaterThan((LARGE - SMALL) / 4096 - 64);
    using big = pool.open('big', { create: true });
    big.writeSync(new Uint8Array(free * 4096 - 64 * 4096).fill(3), 0);
    expect(pool.check().ok).toBe(true);
    // A second grow to the same size does nothing.
    pool.closeSync();
    Pool.growOn(dev);
    using again = Pool.openOn(dev);
    expect(again.info.size).toBe(LARGE);
  });

  it.each(['closed', 'crashed'])('a power cut at any point of the grow leaves the pool as it was or grown, whole, and a grow after it completes (pool %s)', async (how) => {
    const { image: closed, crashed, files } = await smallPoolImage();
    const image = how === 'closed' ? closed : crashed;
    const strict = StrictMemoryDevice.fromImage(image);
    let outcomes = { old: 0, grown: 0 };
    for (let k = 1; ; k++) {
      strict.reset(image);
      strict.crashAt(k);
      let finished = false;
      try {
        Pool.growOn(strict);
        finished = true;
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
      }
      for (const pick of [0, 1, 2]) {
        const crashed = memoryDeviceFromImage(strict.crashImage(rng(k * 3 + pick)));
        {
          using pool = Pool.openOn(crashed);
          expect([SMALL, LARGE]).toContain(pool.info.size);
          outcomes = pool.info.size === LARGE ? { ...outcomes, grown: outcomes.grown + 1 } : { ...outcomes, old: outcomes.old + 1 };
          expectFiles(pool, files);
        }
        Pool.growOn(crashed);
        using grown = Pool.openOn(crashed);
        expect(grown.info.size).toBe(LARGE);
        expectFiles(grown, files);
      }
      if (finished) break;
    }
    expect(outcomes.old).toBeGreaterThan(0);
    expect(outcomes.grown).toBeGreaterThan(0);
  }, 60_000);

  it('checks its arguments as Node does, refuses to shrink, and an equal size does nothing', async () => {
    const { image } = await smallPoolImage();
    const dev = memoryDeviceFromImage(image.slice(0, SMALL));
    expect(() => Pool.growOn(memoryDeviceFromImage(image.slice(0, SMALL / 2)))).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
    const cases: [unknown, string][] = [
      ['16M', 'ERR_INVALID_ARG_TYPE'], [null, 'ERR_INVALID_ARG_TYPE'], [16n * BigInt(MiB), 'ERR_INVALID_ARG_TYPE'], [undefined, 'ERR_INVALID_ARG_TYPE'],
      [2 ** 52, 'ERR_OUT_OF_RANGE'], [Number.NaN, 'ERR_OUT_OF_RANGE'], [-1, 'ERR_OUT_OF_RANGE'], [0, 'ERR_OUT_OF_RANGE'], [1.5 * MiB + 0.5, 'ERR_OUT_OF_RANGE'], [2 ** 53, 'ERR_OUT_OF_RANGE'], [Infinity, 'ERR_OUT_OF_RANGE'],
    ];
    // Checked before anything is opened: the path does not exist.
    for (const [size, code] of cases) {
      expect(() => Pool.grow('/nonexistent/pool', size as number), String(size)).toThrow(expect.objectContaining({ code }));
    }
    expect(() => Pool.grow('/nonexistent/pool', SMALL, null as unknown as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => Pool.grow('/nonexistent/pool', SMALL, { lockTimeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Pool.growOn(dev)).not.toThrow();
    using pool = Pool.openOn(dev);
    expect(pool.info.size).toBe(SMALL);
  });
});

describe('Pool.grow on a file', () => {
  const s = scratchPerTest(tmpdir());

  it('extends the file and the pool; refuses while the pool is open, to shrink, and what is not a pool', () => {
    const path = s.file('grow.pool');
    {
      using pool = Pool.create(path, { size: SMALL });
      using f = pool.open('a', { create: true });
      f.writeSync(new Uint8Array(MiB).fill(1), 0);
      expect(() => Pool.grow(path, LARGE)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
    }
    Pool.grow(path, LARGE + 1000);
    expect(statSync(path).size).toBe(LARGE);
    {
      using pool = Pool.open(path);
      expect(pool.info.size).toBe(LARGE);
      expect(pool.check().ok).toBe(true);
      using f = pool.open('a', { readonly: true });
      const out = new Uint8Array(MiB);
      f.readSync(out, 0);
      expect(out.every((b) => b === 1)).toBe(true);
    }
    expect(() => Pool.grow(path, SMALL)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE', message: expect.stringContaining('cannot shrink') }));
    Pool.grow(path, LARGE);
    expect(statSync(path).size).toBe(LARGE);
    expect(() => Pool.grow(s.file('missing.pool'), LARGE)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(existsSync(s.file('missing.pool'))).toBe(false);
    const notPool = s.file('zeros');
    writeFileSync(notPool, new Uint8Array(SMALL));
    expect(() => Pool.grow(notPool, LARGE)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
    expect(statSync(notPool).size).toBe(SMALL);
  });

  it('a pool whose primary superblock is unreadable is refused, unchanged, until an open for writing rewrites it', () => {
    const path = s.file('torn.pool');
    Pool.create(path, { size: SMALL }).closeSync();
    const bytes = readFileSync(path);
    bytes[100] = (bytes[100] as number) ^ 0xff;
    writeFileSync(path, bytes);
    expect(() => Pool.grow(path, LARGE)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringContaining('backup superblock') }));
    expect(statSync(path).size).toBe(SMALL);
    Pool.open(path).closeSync();
    Pool.grow(path, LARGE);
    using pool = Pool.open(path);
    expect(pool.info.size).toBe(LARGE);
  });

  it('a file already longer than the target (a crashed grow, another tool) is cut to exactly the grown pool', () => {
    const path = s.file('long.pool');
    Pool.create(path, { size: SMALL }).closeSync();
    truncateSync(path, 2 * LARGE);
    Pool.grow(path, LARGE);
    expect(statSync(path).size).toBe(LARGE);
    using pool = Pool.open(path);
    expect(pool.info.size).toBe(LARGE);
    expect(pool.check().ok).toBe(true);
  });

  it('a grow that ended before its switch (the file longer than the pool) is cut back at the next open', () => {
    const path = s.file('crashed.pool');
    Pool.create(path, { size: SMALL }).closeSync();
    truncateSync(path, LARGE);
    {
      using pool = Pool.open(path);
      expect(pool.info.size).toBe(SMALL);
    }
    expect(statSync(path).size).toBe(SMALL);
    // A read-only open changes nothing.
    truncateSync(path, LARGE);
    {
      using pool = Pool.open(path, { readonly: true });
      expect(pool.info.size).toBe(SMALL);
    }
    expect(statSync(path).size).toBe(LARGE);
  });
});
