import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice } from '../../lib/testing';

const MiB = 1024 * 1024;

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function reopen(dev: MemoryDevice, pool: Pool): Pool {
  pool.closeSync();
  return Pool.openOn(dev);
}

describe('pool basics on a memory device', () => {
  it('create, write, reopen, read back', async () => {
    const dev = new MemoryDevice(8 * MiB);
    let pool = Pool.createOn(dev);
    const f = pool.open('a/b.txt', { create: true });
    const data = bytes(10_000, 7);
    expect(f.writeSync(data, 0)).toBe(10_000);
    await f.fsync();
    f.close();
    pool = reopen(dev, pool);
    expect([...pool.list()]).toEqual(['a/b.txt']);
    const g = pool.open('a/b.txt');
    const out = new Uint8Array(10_000);
    expect(g.readSync(out, 0)).toBe(10_000);
    expect(out).toEqual(data);
    expect(pool.check().problems).toEqual([]);
    pool.closeSync();
  });

  it('without fsync, a crash (no close) loses the size but keeps the pool consistent', () => {
    const dev = new MemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    const f = pool.open('x', { create: true });
    f.writeSync(bytes(5000, 1), 0);
    const again = Pool.openOn(dev);
    expect(again.stat('x').size).toBe(0);
    expect(again.check().problems).toEqual([]);
  });

  it('rename replaces, unlink removes, check stays clean across many commits and checkpoints', async () => {
    const dev = new MemoryDevice(8 * MiB);
    let pool = Pool.createOn(dev, { journalBytes: 64 * 1024 });
    for (let i = 0; i < 2000; i++) {
      const f = pool.open(`f${i % 50}`, { create: true, sync: true });
      f.writeSync(bytes(100 + (i % 7) * 1000, i), (i % 3) * 4096);
      f.close();
      if (i % 5 === 0) pool.rename(`f${i % 50}`, `f${(i + 1) % 50}`);
      if (i % 7 === 0 && pool.exists(`f${(i + 3) % 50}`)) pool.unlink(`f${(i + 3) % 50}`);
    }
    const before = [...pool.list()].map((n) => [n, pool.stat(n).size]);
    expect(pool.check().problems).toEqual([]);
    const crashed = Pool.openOn(dev);
    expect([...crashed.list()].map((n) => [n, crashed.stat(n).size])).toEqual(before);
    expect(crashed.check().problems).toEqual([]);
    pool = reopen(dev, crashed);
    expect(pool.check().problems).toEqual([]);
  });

  it('clone shares blocks; a write after clone copies on write', async () => {
    const dev = new MemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    const a = pool.open('a', { create: true });
    const b = pool.open('b', { create: true });
    a.writeSync(bytes(3 * 4096, 3), 0);
    await a.fsync();
    await a.clone(b, 0, 0, 3 * 4096);
    expect(pool.check().problems).toEqual([]);
    b.writeSync(new Uint8Array(10).fill(9), 4096);
    await b.fsync();
    const ra = new Uint8Array(3 * 4096);
    a.readSync(ra, 0);
    expect(ra).toEqual(bytes(3 * 4096, 3));
    const rb = new Uint8Array(10);
    b.readSync(rb, 4096);
    expect(rb).toEqual(new Uint8Array(10).fill(9));
    expect(pool.check().problems).toEqual([]);
    await b.fallocate('punch-hole', 0, 8192);
    await a.truncate(100);
    expect(pool.check().problems).toEqual([]);
  });
});

describe('pool names', () => {
  it('UTF-8 names of every length up to 255 bytes survive a checkpoint and a journal replay', () => {
    const dev = new MemoryDevice(8 * MiB);
    let pool = Pool.createOn(dev);
    const names = ['é', 'päth/ünïcode/ファイル', '🙂'.repeat(63), 'x'.repeat(255), 'a/b/c'];
    for (const n of names.slice(0, 3)) pool.open(n, { create: true }).close();
    pool.closeSync();
    pool = Pool.openOn(dev);
    for (const n of names.slice(3)) pool.open(n, { create: true }).close();
    // No close: the last two come back from the journal, the first three from the checkpoint.
    const again = Pool.openOn(dev);
    expect([...again.list()]).toEqual([...names].sort());
    expect(again.check().problems).toEqual([]);
  });
});
