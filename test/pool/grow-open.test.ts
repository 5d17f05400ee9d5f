import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice, SimulatedCrash, StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';
import { rng } from '../support/rng';

const MiB = 1024 * 1024;
const SMALL = 8 * MiB;
const LARGE = 24 * MiB;

/** A pool of SMALL bytes with a few files, at the start of a LARGE image (the device the pool grows into). */
function smallPoolImage(): { image: Uint8Array; files: Map<string, Uint8Array> } {
  const dev = new MemoryDevice(SMALL);
  const files = new Map<string, Uint8Array>();
  const next = rng(11);
  {
    using pool = Pool.createOn(dev);
    for (let i = 0; i < 8; i++) {
      const bytes = new Uint8Array(Math.floor(next() * 300_000) + 1).map(() => Math.floor(next() * 256));
      using f = pool.open(`f${i}`, { create: true });
      f.writeSync(bytes, 0);
      files.set(`f${i}`, bytes);
    }
  }
  const image = new Uint8Array(LARGE);
  image.set(dev.bytes);
  return { image, files };
}

function expectFiles(pool: Pool, files: Map<string, Uint8Array>): void {
  expect([...pool.list()].sort()).toEqual([...files.keys()].sort());
  for (const [name, bytes] of files) {
    using f = pool.open(name, { readonly: true });
    const out = new Uint8Array(bytes.length);
    expect(f.readSync(out, 0)).toBe(bytes.length);
    expect(Buffer.compare(out, bytes), name).toBe(0);
  }
  expect(pool.check().problems).toEqual([]);
}

describe('pool.grow on an open pool', () => {
  it('takes the new blocks at once: open files keep working, new files use the new space, and the grown pool reopens clean', () => {
    const { image, files } = smallPoolImage();
    const dev = memoryDeviceFromImage(image);
    const all = new Map(files);
    {
      using pool = Pool.openOn(dev);
      expect(pool.info.size).toBe(SMALL);
      using f0 = pool.open('f0');
      // A change in the journal (not yet in a checkpoint) when the pool grows.
      const head = new Uint8Array(5000).fill(0x11);
      f0.writeSync(head, 0);
      f0.fsyncSync();
      const orig = all.get('f0') as Uint8Array;
      const expected = new Uint8Array(Math.max(orig.length, head.length));
      expected.set(orig);
      expected.set(head);
      all.set('f0', expected);
      const freeBefore = pool.statfs().freeBlocks;
      pool.grow(LARGE);
      expect(pool.info.size).toBe(LARGE);
      expect(pool.statfs().blocks).toBe(LARGE / 4096);
      expect(pool.statfs().freeBlocks).toBeGreaterThan(freeBefore + (LARGE - SMALL) / 4096 - 32);
      expect(pool.check().problems).toEqual([]);
      // The file open across the grow reads and writes as before.
      const out = new Uint8Array(5000);
      f0.readSync(out, 0);
      expect(out.every((b) => b === 0x11)).toBe(true);
      // More than the pool had free before the grow: the new blocks must be used.
      const big = new Uint8Array((freeBefore + 512) * 4096).fill(0x77);
      using g = pool.open('big', { create: true });
      g.writeSync(big, 0);
      g.fsyncSync();
      all.set('big', big);
      expect(pool.check().problems).toEqual([]);
      // Growing to the same size does nothing; a second grow works from the grown layout.
      pool.grow(LARGE);
      expect(pool.info.size).toBe(LARGE);
    }
    using again = Pool.openOn(dev);
    expect(again.info.size).toBe(LARGE);
    expectFiles(again, all);
  });

  it('grows twice in a row, with checkpoints in between', () => {
    const { image, files } = smallPoolImage();
    const dev = memoryDeviceFromImage(image);
    {
      using pool = Pool.openOn(dev);
      pool.grow(16 * MiB);
      using f = pool.open('mid', { create: true });
      f.writeSync(new Uint8Array(6 * MiB).fill(1), 0);
      f.fsyncSync();
      pool.grow(LARGE);
      f.writeSync(new Uint8Array(6 * MiB).fill(2), 6 * MiB);
      f.fsyncSync();
      expect(pool.check().problems).toEqual([]);
    }
    using again = Pool.openOn(dev);
    expect(again.info.size).toBe(LARGE);
    expect(again.stat('mid').size).toBe(12 * MiB);
    expectFiles(again, new Map([...files]).set('mid', new Uint8Array(12 * MiB).fill(1).fill(2, 6 * MiB)));
  });

  it('a power cut at any point of the grow leaves the pool as it was or grown, whole; it grows again after', () => {
    const { image, files } = smallPoolImage();
    const strict = StrictMemoryDevice.fromImage(image);
    let outcomes = { old: 0, grown: 0 };
    for (let k = 1; ; k++) {
      strict.reset(image);
      const pool = Pool.openOn(strict);
      // A file open across the grow, with a change committed just before it.
      const f = pool.open('f1');
      const bytes = (files.get('f1') as Uint8Array).slice();
      bytes.fill(0xee, 0, Math.min(100, bytes.length));
      f.writeSync(bytes.subarray(0, 100), 0);
      f.fsyncSync();
      strict.crashAt(k);
      let finished = false;
      try {
        pool.grow(LARGE);
        finished = true;
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
      }
      const want = new Map(files).set('f1', bytes);
      for (const pick of [0, 1, 2]) {
        const crashed = memoryDeviceFromImage(strict.crashImage(rng(k * 3 + pick)));
        {
          using reopened = Pool.openOn(crashed);
          expect([SMALL, LARGE]).toContain(reopened.info.size);
          if (reopened.info.size === LARGE) outcomes = { ...outcomes, grown: outcomes.grown + 1 };
          else outcomes = { ...outcomes, old: outcomes.old + 1 };
          expectFiles(reopened, want);
          reopened.grow(LARGE);
          expect(reopened.info.size).toBe(LARGE);
        }
        using grown = Pool.openOn(crashed);
        expect(grown.info.size).toBe(LARGE);
        expectFiles(grown, want);
      }
      if (finished) {
        strict.crashAt(0);
        pool.closeSync();
        expect(f.closed).toBe(true);
        break;
      }
    }
    expect(outcomes.old).toBeGreaterThan(0);
    expect(outcomes.grown).toBeGreaterThan(0);
  }, 60_000);

  it('refuses what the static grow refuses, and what an open pool cannot do', () => {
    const { image } = smallPoolImage();
    const dev = memoryDeviceFromImage(image);
    const pool = Pool.openOn(dev);
    const cases: [unknown, string][] = [
      ['16M', 'ERR_INVALID_ARG_TYPE'], [null, 'ERR_INVALID_ARG_TYPE'], [16n * BigInt(MiB), 'ERR_INVALID_ARG_TYPE'], [undefined, 'ERR_INVALID_ARG_TYPE'],
      [2 ** 52, 'ERR_OUT_OF_RANGE'], [Number.NaN, 'ERR_OUT_OF_RANGE'], [-1, 'ERR_OUT_OF_RANGE'], [0, 'ERR_OUT_OF_RANGE'], [1.5 * MiB + 0.5, 'ERR_OUT_OF_RANGE'],
      [2 ** 53, 'ERR_OUT_OF_RANGE'], [Infinity, 'ERR_OUT_OF_RANGE'],
      // Smaller; beyond the device (a MemoryDevice cannot grow); too little to hold the new bitmap copies.
      [SMALL - 4096, 'ERR_PMEMDAX_SIZE'], [LARGE + 4096, 'ERR_PMEMDAX_SIZE'], [SMALL + 4096, 'ENOSPC'],
    ];
    for (const [size, code] of cases) expect(() => pool.grow(size as number), String(size)).toThrow(expect.objectContaining({ code }));
    // The same size, or less than a block more, does nothing.
    pool.grow(SMALL + 4095);
    expect(pool.info.size).toBe(SMALL);
    expect(pool.check().problems).toEqual([]);
    pool.closeSync();
    expect(() => pool.grow(LARGE)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    {
      using ro = Pool.openOn(dev, { readonly: true });
      expect(() => ro.grow(LARGE)).toThrow(expect.objectContaining({ code: 'EROFS' }));
    }
    const devdax = Object.assign(memoryDeviceFromImage(image), { info: { kind: 'devdax' as const } });
    {
      using onDax = Pool.openOn(devdax);
      expect(() => onDax.grow(LARGE)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    }
    using after = Pool.openOn(dev);
    expect(after.info.size).toBe(SMALL);
    expect(after.check().problems).toEqual([]);
  });
});
