import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { Device } from '../../lib/device/device';
import { FiemapFlag } from '../../lib/iomap/fiemap';
import { MemoryDevice, SimulatedCrash, StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';
import { rng } from '../support/rng';
import { scratchPerTest } from '../support/scratch';
import { V1PoolWriter } from './support/v1-writer';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB;

function randomBytes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  return new Uint8Array(n).map(() => Math.floor(next() * 256));
}

interface V1Pool {
  readonly image: Uint8Array;
  /** Every named file and its bytes, as a version-1 load would read them. */
  readonly files: Map<string, Uint8Array>;
}

/**
 * A version-1 pool with small, large, fragmented (extents kept out of line in version 2), cloned, empty,
 * unwritten and orphaned files in its checkpoint; with `journal`, a file created and one removed by
 * records of its journal, the pool not closed (dirty).
 */
function v1Pool(journal: boolean): V1Pool {
  const w = new V1PoolWriter(SIZE);
  const files = new Map<string, Uint8Array>();
  const add = (name: string, bytes: Uint8Array, opts: { pieces?: number; unwritten?: boolean } = {}): number => {
    files.set(name, opts.unwritten === true ? new Uint8Array(bytes.length) : bytes);
    return w.addFile(name, bytes, opts);
  };
  const big = add('big', randomBytes(1.5 * MiB + 123, 1));
  for (let i = 0; i < 10; i++) add(`small/${i}`, randomBytes(100 + i * 3000, 10 + i));
  add('fragmented', randomBytes(80 * 4096 - 7, 2), { pieces: 40 });
  w.addClone('big clone', big);
  files.set('big clone', files.get('big') as Uint8Array);
  add('empty', new Uint8Array(0));
  add('fallocated', randomBytes(5 * 4096, 3), { unwritten: true });
  add('naïve ✓', randomBytes(777, 4));
  w.addFile(null, randomBytes(9000, 5));
  const gone = add('removed in the journal', randomBytes(12_000, 6));
  if (journal) w.dirty = true;
  w.checkpoint();
  if (journal) {
    const bytes = randomBytes(50_000, 7);
    w.journalFile('journalled', bytes);
    files.set('journalled', bytes);
    w.journalRemove(gone);
    files.delete('removed in the journal');
  }
  return { image: w.image, files };
}

function expectFiles(pool: Pool, files: Map<string, Uint8Array>): void {
  expect([...pool.list()].sort()).toEqual([...files.keys()].sort());
  for (const [name, bytes] of files) {
    using f = pool.open(name, { readonly: true });
    expect(f.stat().size, name).toBe(bytes.length);
    const out = new Uint8Array(bytes.length);
    expect(f.readSync(out, 0)).toBe(bytes.length);
    expect(Buffer.compare(out, bytes), name).toBe(0);
  }
  expect(pool.check().problems).toEqual([]);
}

const isVersion1 = expect.objectContaining({ code: 'ERR_PMEMDAX_FORMAT_VERSION', message: expect.stringMatching(/format version 1: .*pmemdax upgrade/) });

describe('upgrading a pool of format version 1 (Pool.upgrade, Pool.upgradeOn; docs/format.md, "Format versions")', () => {
  it.each([false, true])('keeps every file, clone and attribute; the upgraded pool writes and reopens (journal %s)', (journal) => {
    const { image, files } = v1Pool(journal);
    const dev = memoryDeviceFromImage(image);
    expect(() => Pool.openOn(dev, { readonly: true })).toThrow(isVersion1);
    expect(Pool.upgradeOn(dev)).toBe(true);
    {
      using pool = Pool.openOn(dev, { readonly: true });
      expect(pool.info.formatVersion).toBe(2);
      expect(pool.info.recovery.replayed).toBe(0);
      expect(pool.info.unsafeShutdown.dirty).toBe(journal);
      expectFiles(pool, files);
      using big = pool.open('big', { readonly: true });
      using clone = pool.open('big clone', { readonly: true });
      expect(clone.fiemap().map((e) => e.physical)).toEqual(big.fiemap().map((e) => e.physical));
      expect(big.fiemap().every((e) => (e.flags & FiemapFlag.SHARED) !== 0)).toBe(true);
      using named = pool.open('naïve ✓', { readonly: true });
      expect(named.stat().mtimeMs).toBeGreaterThan(1_700_000_000_000);
    }
    {
      using pool = Pool.openOn(dev);
      expect(pool.info.recovery.orphansFreed).toBe(1);
      expectFiles(pool, files);
      using clone = pool.open('big clone');
      clone.writeSync(new Uint8Array(4096).fill(9), 8192);
      using fresh = pool.open('fresh', { create: true });
      const bytes = randomBytes(3 * MiB, 8);
      fresh.writeSync(bytes, 0);
      pool.unlink('small/3');
      files.delete('small/3');
      files.set('fresh', bytes);
      const cloned = (files.get('big') as Uint8Array).slice();
      cloned.fill(9, 8192, 8192 + 4096);
      files.set('big clone', cloned);
      expect(pool.check().problems).toEqual([]);
    }
    using pool = Pool.openOn(dev);
    expectFiles(pool, files);
    expect(pool.statfs().freeBlocks).toBeGreaterThan(0);
  });

  it.each([false, true])('a power cut at any point leaves version 1, refused by an open and upgraded by a re-run, or version 2 whole (journal %s)', (journal) => {
    const { image, files } = v1Pool(journal);
    const strict = StrictMemoryDevice.fromImage(image);
    const outcomes = { v1: 0, v2: 0 };
    for (let k = 1; ; k++) {
      strict.reset(image);
      strict.crashAt(k);
      let finished = false;
      try {
        expect(Pool.upgradeOn(strict)).toBe(true);
        finished = true;
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
      }
      for (const pick of [0, 1, 2]) {
        const crashed = memoryDeviceFromImage(strict.crashImage(rng(k * 3 + pick + 1)));
        let opened: Pool | null = null;
        try {
          opened = Pool.openOn(crashed);
        } catch (e) {
          expect(e).toEqual(isVersion1);
        }
        if (opened === null) {
          outcomes.v1++;
          expect(Pool.upgradeOn(crashed)).toBe(true);
        } else {
          outcomes.v2++;
          using pool = opened;
          expectFiles(pool, files);
          expect(Pool.upgradeOn(crashed)).toBe(false);
        }
        using pool = Pool.openOn(crashed);
        expect(pool.info.formatVersion).toBe(2);
        expectFiles(pool, files);
      }
      if (finished) break;
    }
    expect(outcomes.v1).toBeGreaterThan(0);
    expect(outcomes.v2).toBeGreaterThan(0);
  });

  it('a version-2 backup beside a version-1 primary (an upgrade cut before its switch) is refused as version 1, and upgraded', () => {
    const { image, files } = v1Pool(true);
    const dev = memoryDeviceFromImage(image);
    Pool.upgradeOn(dev);
    // The primary as it was: everything else the upgrade wrote stays.
    dev.bytes.set(image.subarray(0, 4096), 0);
    expect(() => Pool.openOn(dev, { readonly: true })).toThrow(isVersion1);
    expect(Pool.upgradeOn(dev)).toBe(true);
    using pool = Pool.openOn(dev);
    expectFiles(pool, files);
  });

  it('a pool of version 2 is left as it is', () => {
    const dev = new MemoryDevice(SIZE);
    {
      using pool = Pool.createOn(dev);
      using f = pool.open('a', { create: true });
      f.writeSync(randomBytes(10_000, 1), 0);
    }
    const before = dev.bytes.slice();
    expect(Pool.upgradeOn(dev)).toBe(false);
    expect(Buffer.compare(dev.bytes, before)).toBe(0);
    expect(() => Pool.upgradeOn(new MemoryDevice(SIZE))).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringContaining('no signature') }));
  });

  it('a damaged version-1 pool, or one found through its backup superblock, is refused and left as it is', () => {
    const refused = (image: Uint8Array, message: string): void => {
      const dev = memoryDeviceFromImage(image);
      expect(() => Pool.upgradeOn(dev)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringContaining(message) }));
      expect(Buffer.compare(dev.bytes, image)).toBe(0);
    };
    // A block of a file free in the bitmap: the audit's problem.
    const free = new V1PoolWriter(SIZE);
    free.addFile('a', randomBytes(20_000, 1));
    free.setUsed(18, 1, false);
    free.checkpoint();
    refused(free.image, 'free and used');
    // The checkpoint image damaged.
    const { image } = v1Pool(true);
    const ckpt = image.slice();
    const ckptAt = new DataView(ckpt.buffer).getUint32(512, true) * 4096;
    ckpt[ckptAt + 70] = (ckpt[ckptAt + 70] as number) ^ 0xff;
    refused(ckpt, 'checkpoint');
    // The primary superblock unreadable.
    const torn = image.slice();
    torn[100] = (torn[100] as number) ^ 0xff;
    refused(torn, 'backup superblock');
    // A journal record that names the checkpoint's blocks.
    const w = new V1PoolWriter(SIZE);
    w.addFile('a', randomBytes(5000, 2));
    w.checkpoint();
    w.journal([{ op: 'alloc', block: 17, count: 1 }]);
    refused(w.image, 'journal record 0');
  });

  it('no room for the bitmap copies is ENOSPC, with nothing written', () => {
    const w = new V1PoolWriter(SIZE);
    w.addFile('most', randomBytes((w.freeBlocks - 6) * 4096, 1));
    w.checkpoint();
    w.journalFile('rest', randomBytes(3 * 4096, 2));
    const dev = memoryDeviceFromImage(w.image);
    expect(() => Pool.upgradeOn(dev)).toThrow(expect.objectContaining({ code: 'ENOSPC', syscall: 'upgrade' }));
    expect(Buffer.compare(dev.bytes, w.image)).toBe(0);
  });
});

describe('Pool.upgrade on a file', () => {
  const s = scratchPerTest(tmpdir());

  it('upgrades under the exclusive lock; a second upgrade does nothing', () => {
    const { image, files } = v1Pool(true);
    const path = s.file('v1.pool');
    writeFileSync(path, image);
    expect(() => Pool.open(path)).toThrow(isVersion1);
    {
      using held = Device.open(path, { lock: 'exclusive' });
      expect(held.size).toBe(SIZE);
      expect(() => Pool.upgrade(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
      expect(() => Pool.upgrade(path, { lockTimeout: 20 })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
    }
    expect(Buffer.compare(readFileSync(path), image)).toBe(0);
    expect(Pool.upgrade(path)).toBe(true);
    expect(Pool.upgrade(path, { lockTimeout: 0 })).toBe(false);
    using pool = Pool.open(path);
    expectFiles(pool, files);
  });

  it('checks its arguments as Node does', () => {
    const cases: [unknown, unknown, string][] = [
      [42, {}, 'ERR_INVALID_ARG_TYPE'], [undefined, {}, 'ERR_INVALID_ARG_TYPE'], ['', {}, 'ERR_INVALID_ARG_VALUE'], ['a\0b', {}, 'ERR_INVALID_ARG_VALUE'],
      ['/nonexistent/pool', null, 'ERR_INVALID_ARG_TYPE'], ['/nonexistent/pool', 'fast', 'ERR_INVALID_ARG_TYPE'],
      ['/nonexistent/pool', { lockTimeout: '10' }, 'ERR_INVALID_ARG_TYPE'], ['/nonexistent/pool', { lockTimeout: -1 }, 'ERR_OUT_OF_RANGE'],
      ['/nonexistent/pool', { lockTimeout: Number.NaN }, 'ERR_OUT_OF_RANGE'], ['/nonexistent/pool', { lockTimeout: 2 ** 31 }, 'ERR_OUT_OF_RANGE'],
      ['/nonexistent/pool', {}, 'ENOENT'],
    ];
    for (const [path, opts, code] of cases) {
      expect(() => Pool.upgrade(path as string, opts as object), `${String(path)} ${JSON.stringify(opts)}`).toThrow(expect.objectContaining({ code }));
    }
    expect(() => Pool.upgradeOn(new MemoryDevice(SIZE), null as unknown as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
