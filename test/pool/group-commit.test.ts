import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice, memoryDeviceFromImage } from '../../lib/testing';
import { DeferredMemoryDevice } from './support/deferred-device';

const MiB = 1024 * 1024;
const N = 64;

function record(i: number): Uint8Array {
  return new Uint8Array(100).fill(i & 0xff);
}

describe('group commit (docs/api.md, "Durability and ordering")', () => {
  it(`${N} concurrent synced appends share commits: fewer than ${N} records, every append durable and in call order`, async () => {
    const dev = new DeferredMemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    const f = pool.open('log', { create: true, sync: true });
    const before = pool.stats();
    const offsets = await Promise.all(Array.from({ length: N }, (_, i) => f.append(record(i))));
    const s = pool.stats();
    expect(offsets).toEqual(Array.from({ length: N }, (_, i) => i * 100));
    expect(s.commitRequests - before.commitRequests).toBe(N);
    expect(s.commits - before.commits).toBeGreaterThan(0);
    expect(s.commits - before.commits).toBeLessThan(N);
    expect(s.flushes).toBeGreaterThan(0);
    expect(dev.jobs).toBe(s.flushes);
    // Durable without a close: a crash image now is the device's bytes as they are.
    const again = Pool.openOn(memoryDeviceFromImage(dev.bytes));
    const g = again.open('log');
    const bytes = new Uint8Array(g.size);
    g.readSync(bytes, 0);
    expect(g.size).toBe(N * 100);
    for (let i = 0; i < N; i++) expect(bytes.subarray(i * 100, i * 100 + 100).every((b) => b === (i & 0xff))).toBe(true);
    again.closeSync();
    await pool.close();
  });

  it('namespace changes share commits too: openAsync (create), renameAsync, unlinkAsync, durable when they resolve', async () => {
    const dev = new DeferredMemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    const before = pool.stats();
    const files = await Promise.all(Array.from({ length: N }, (_, i) => pool.openAsync(`tmp/${i}`, { create: true })));
    await Promise.all(files.map((f, i) => f.write(record(i), 0).then(() => f.fsync())));
    await Promise.all(files.map((_, i) => pool.renameAsync(`tmp/${i}`, `final/${i}`)));
    await Promise.all(files.filter((_, i) => i % 2 === 1).map((_, k) => pool.unlinkAsync(`final/${2 * k + 1}`)));
    const s = pool.stats();
    expect(s.commitRequests - before.commitRequests).toBeGreaterThanOrEqual(3 * N + N / 2);
    expect(s.commits - before.commits).toBeLessThan(N);
    const again = Pool.openOn(memoryDeviceFromImage(dev.bytes));
    expect([...again.list()]).toEqual(Array.from({ length: N / 2 }, (_, k) => `final/${2 * k}`).sort());
    const g = again.open('final/2');
    const got = new Uint8Array(100);
    g.readSync(got, 0);
    expect(got.every((b) => b === 2)).toBe(true);
    again.closeSync();
    for (const f of files) await f.close();
    await pool.close();
  });

  it('a failed write-back under a commit: its callers get the error, later commits EIO ("reopen the pool"), the media keep the last durable commit', async () => {
    const dev = new DeferredMemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    const f = pool.open('log', { create: true, sync: true });
    await f.append(record(1));
    dev.failJobs = 1;
    await expect(f.append(record(2))).rejects.toMatchObject({ code: 'EIO', syscall: 'msync' });
    await expect(f.append(record(3))).rejects.toMatchObject({ code: 'EIO', syscall: 'fsync', message: expect.stringContaining('reopen the pool') });
    expect(() => pool.sync()).toThrow(expect.objectContaining({ code: 'EIO', syscall: 'fsync' }));
    const again = Pool.openOn(memoryDeviceFromImage(dev.bytes));
    expect(again.check().problems).toEqual([]);
    expect(again.stat('log').size).toBe(100);
    again.closeSync();
  });

  it('promises of one file settle in call order (writes, appends, fsync, truncate)', async () => {
    const pool = Pool.createOn(new DeferredMemoryDevice(8 * MiB));
    const f = pool.open('f', { create: true });
    const order: number[] = [];
    const calls = [
      () => f.write(record(1), 0),
      () => f.append(record(2)),
      () => f.fsync(),
      () => f.write(record(3), 50),
      () => f.truncate(120),
      () => f.append(record(4)),
      () => f.fsync(),
    ];
    await Promise.all(calls.map((c, i) => c().then(() => order.push(i))));
    expect(order).toEqual(calls.map((_, i) => i));
    expect(f.size).toBe(220);
    await pool.close();
  });

  it('inline write-back (no persistAsync): the synced calls of one turn of the event loop share a commit at its end', async () => {
    const dev = new MemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    const f = pool.open('log', { create: true, sync: true });
    const before = pool.stats();
    await Promise.all(Array.from({ length: N }, (_, i) => f.append(record(i))));
    const s = pool.stats();
    expect(s.commitRequests - before.commitRequests).toBe(N);
    expect(s.commits - before.commits).toBe(1);
    expect(s.flushes).toBe(0);
    const again = Pool.openOn(memoryDeviceFromImage(dev.bytes));
    expect(again.stat('log').size).toBe(N * 100);
    again.closeSync();
    await pool.close();
  });

  it('a loop of awaited calls that never wait still lets the event loop turn', async () => {
    const pool = Pool.createOn(new MemoryDevice(8 * MiB));
    const f = pool.open('f', { create: true });
    const buf = new Uint8Array(4096);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const end = performance.now() + 60;
    while (performance.now() < end) {
      await f.write(buf, 0);
      await f.read(buf, 0);
    }
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
    expect(pool.stats().longestHoldMs).toBeLessThan(60);
    await pool.close();
  });
});

describe('long promise methods give the thread back between pieces (docs/api.md, "Off the event loop")', () => {
  async function turnsBeforeSettling(call: () => Promise<unknown>): Promise<boolean> {
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    await call();
    return turned;
  }

  it('a 6 MiB read copies in chunks, returns every byte, and lets the event loop turn', async () => {
    const pool = Pool.createOn(new MemoryDevice(16 * MiB));
    const f = pool.open('f', { create: true });
    const data = new Uint8Array(6 * MiB);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i >> 12) & 0xff;
    f.writeSync(data, 0);
    const back = new Uint8Array(6 * MiB + 10);
    let n = -1;
    expect(await turnsBeforeSettling(async () => (n = await f.read(back, 0)))).toBe(true);
    expect(n).toBe(6 * MiB);
    expect(Buffer.from(back.subarray(0, n)).equals(Buffer.from(data))).toBe(true);
    await pool.close();
  });

  it('truncating a large file frees its pages in pieces from the end, the file whole at every turn: the loop turns, the pool stays sound', async () => {
    const dev = new MemoryDevice(64 * MiB);
    const pool = Pool.createOn(dev);
    const f = pool.open('f', { create: true });
    for (let i = 0; i < 8192; i++) f.appendSync(record(i)); // many small extents' worth of pages
    f.writeSync(new Uint8Array(32 * MiB).fill(3), 0);
    const free = pool.statfs().freeBlocks;
    const seen: { size: number; whole: boolean }[] = [];
    const done = f.truncate(4096);
    let settled = false;
    void done.then(() => (settled = true));
    const look = (): void => {
      if (settled) return;
      const bytes = new Uint8Array(f.size);
      f.readSync(bytes, 0);
      seen.push({ size: f.size, whole: bytes.every((b) => b === 3) });
      setImmediate(look);
    };
    setImmediate(look);
    expect(await turnsBeforeSettling(() => done)).toBe(true);
    // Cut from the end a piece at a time: each size on the way a page boundary, the bytes below it the file's.
    expect(seen.filter((s) => !s.whole || s.size % 4096 !== 0 || s.size > 32 * MiB)).toEqual([]);
    expect(seen.some((s) => s.size < 32 * MiB && s.size > 4096)).toBe(true);
    expect(f.size).toBe(4096);
    expect(pool.statfs().freeBlocks).toBe(free + 32 * 256 - 1);
    expect(pool.check().problems).toEqual([]);
    const again = Pool.openOn(memoryDeviceFromImage(dev.bytes));
    expect(again.stat('f').size).toBe(4096);
    expect(again.check().problems).toEqual([]);
    again.closeSync();
    await pool.close();
  });

  it('fallocate of a large range zeroes and maps its blocks in pieces: the loop turns, the range reads as zeros', async () => {
    const pool = Pool.createOn(new MemoryDevice(64 * MiB));
    const f = pool.open('f', { create: true });
    expect(await turnsBeforeSettling(() => f.fallocate('allocate', 0, 24 * MiB))).toBe(true);
    expect(f.size).toBe(24 * MiB);
    expect(f.stat().allocated).toBe(24 * MiB);
    const back = new Uint8Array(24 * MiB).fill(1);
    expect(f.readSync(back, 0)).toBe(24 * MiB);
    expect(back.every((b) => b === 0)).toBe(true);
    expect(pool.check().problems).toEqual([]);
    await pool.close();
  });
});
