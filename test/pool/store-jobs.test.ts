import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice, StrictMemoryDevice } from '../../lib/testing';
import { FILE_SIZE_MAX } from '../../lib/pool/layout';

const MiB = 1024 * 1024;

/** A pool at page granularity whose promise writes hand their stores to jobs (the strict device's writeRangesAsync). */
function poolWithJobs(random = (): number => 0.9): { dev: StrictMemoryDevice; pool: Pool } {
  const dev = new StrictMemoryDevice(8 * MiB, { persistAsync: true, random });
  return { dev, pool: Pool.createOn(dev) };
}

function bytesOf(pool: Pool, name: string): Uint8Array {
  const f = pool.open(name, { readonly: true });
  const b = new Uint8Array(f.size);
  f.readSync(b, 0);
  return b;
}

describe('store jobs: promise writes at page granularity store by job (lib/pool/store-job.ts)', () => {
  it('a promise write or append stores nothing on the thread: the bytes arrive with its job', async () => {
    const { dev, pool } = poolWithJobs();
    const f = pool.open('a', { create: true });
    await f.write(new Uint8Array(4096).fill(1), 0);
    const copies = { n: 0 };
    const copy = dev.copy.bind(dev);
    dev.copy = (offset, src, flags) => {
      copies.n++;
      copy(offset, src, flags);
    };
    let jobs = 0;
    const write = dev.writeRangesAsync as NonNullable<StrictMemoryDevice['writeRangesAsync']>;
    Object.defineProperty(dev, 'writeRangesAsync', { value: (r: Float64Array, s: ArrayBufferView) => (jobs++, write(r, s)) });
    const calls = [f.write(new Uint8Array(100).fill(2), 10), f.append(new Uint8Array(5000).fill(3)), f.append(new Uint8Array(3).fill(4))];
    // Handed over, not stored: the file still reads as before, and no store went through the device's copy.
    expect(f.size).toBe(4096);
    expect(copies.n).toBe(0);
    await Promise.all(calls);
    // The device's copy is called by the strict device's own job (its model of a pwrite), never by the pool.
    expect(jobs).toBeGreaterThan(0);
    expect(f.size).toBe(4096 + 5000 + 3);
    const b = new Uint8Array(f.size);
    f.readSync(b, 0);
    expect(b.subarray(10, 110).every((x) => x === 2)).toBe(true);
    expect(b.subarray(4096, 9096).every((x) => x === 3)).toBe(true);
    expect(b.subarray(9096).every((x) => x === 4)).toBe(true);
    await pool.close();
  });

  it('appends called while earlier ones are landing get distinct offsets in call order, and the file ends as the model', async () => {
    const { pool } = poolWithJobs(Math.random);
    const f = pool.open('log', { create: true, sync: true });
    const lens = Array.from({ length: 40 }, (_, i) => 1 + ((i * 977) % 6000));
    const at = await Promise.all(lens.map((n, i) => f.append(new Uint8Array(n).fill(i + 1))));
    let pos = 0;
    for (let i = 0; i < lens.length; i++) {
      expect(at[i]).toBe(pos);
      pos += lens[i] as number;
    }
    const b = bytesOf(pool, 'log');
    expect(b.length).toBe(pos);
    for (let i = 0; i < lens.length; i++) expect(b.subarray(at[i] as number, (at[i] as number) + (lens[i] as number)).every((x) => x === i + 1)).toBe(true);
    expect(pool.check().ok).toBe(true);
    await pool.close();
  });

  it('while a write is landing: reads see the file as before it, sync writes that touch it are EAGAIN, others run', async () => {
    const { pool } = poolWithJobs();
    const f = pool.open('a', { create: true });
    await f.write(new Uint8Array(8192).fill(1), 0);
    const w = f.write(new Uint8Array(6000).fill(2), 6000);
    // Its turn runs, hands the stores to the job (which lands a millisecond later) and ends: the write is pending.
    await new Promise((r) => setImmediate(r));
    expect(f.size).toBe(8192);
    expect(() => f.writeSync(new Uint8Array(10).fill(3), 7000)).toThrow(expect.objectContaining({ code: 'EAGAIN', syscall: 'write' }));
    expect(() => f.writeSync(new Uint8Array(10).fill(3), 20000)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    expect(() => f.appendSync(new Uint8Array(10))).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    expect(f.writeSync(new Uint8Array(10).fill(5), 100)).toBe(10);
    await w;
    expect(f.size).toBe(12000);
    expect(f.appendSync(new Uint8Array(10).fill(6))).toBe(12000);
    const b = bytesOf(pool, 'a');
    expect(b.subarray(100, 110).every((x) => x === 5)).toBe(true);
    expect(b.subarray(6000, 12000).every((x) => x === 2)).toBe(true);
    await pool.close();
  });

  it('truncate, fallocate and fsync called after writes still landing act on the file with those writes in it', async () => {
    const { pool } = poolWithJobs(Math.random);
    const f = pool.open('a', { create: true });
    const a1 = f.append(new Uint8Array(5000).fill(1));
    const t = f.truncate(3000);
    const a2 = f.append(new Uint8Array(2000).fill(2));
    const fs = f.fsync();
    await Promise.all([a1, t, a2, fs]);
    expect(await a2).toBe(3000);
    const b = bytesOf(pool, 'a');
    expect(b.length).toBe(5000);
    expect(b.subarray(0, 3000).every((x) => x === 1)).toBe(true);
    expect(b.subarray(3000).every((x) => x === 2)).toBe(true);
    await pool.close();
  });

  it('a crash while appends land: acknowledged ones are there, the others read as zeros or are gone, check is clean', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const { dev, pool } = poolWithJobs(Math.random);
      const f = pool.open('log', { create: true, sync: true });
      const acked: [number, number, number][] = [];
      const calls = Array.from({ length: 12 }, (_, i) => {
        const n = 700 + i * 300;
        return f.append(new Uint8Array(n).fill(i + 1)).then((at) => acked.push([at, n, i + 1]));
      });
      for (let k = 0; k < 1 + (seed % 6); k++) await new Promise((r) => setImmediate(r));
      const image = new MemoryDevice(dev.size);
      dev.crashImageInto(image.bytes, Math.random, { newest: 0 });
      const seen = [...acked];
      await Promise.allSettled(calls);
      await pool.close();
      const p = Pool.openOn(image);
      expect(p.check().ok).toBe(true);
      const b = bytesOf(p, 'log');
      for (const [at, n, tag] of seen) expect(b.subarray(at, at + n).every((x) => x === tag)).toBe(true);
      p.closeSync();
    }
  });

  it('closeSync with chunks pending: they reject ERR_PMEMDAX_CLOSED, nothing lands after it, the pool reopens clean', async () => {
    const { dev, pool } = poolWithJobs(Math.random);
    const f = pool.open('a', { create: true });
    await f.write(new Uint8Array(4096).fill(1), 0);
    const calls = [f.write(new Uint8Array(4096).fill(2), 0), f.append(new Uint8Array(9000).fill(3))];
    await Promise.resolve();
    pool.closeSync();
    const media = dev.media.slice();
    const results = await Promise.allSettled(calls);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_PMEMDAX_CLOSED' });
    await new Promise((r) => setTimeout(r, 5));
    expect(Buffer.compare(media, dev.media)).toBe(0);
    const p = Pool.openOn(dev);
    expect(p.check().ok).toBe(true);
    const b = bytesOf(p, 'a');
    expect(b.length === 4096 || b.length === 4096 + 9000).toBe(true);
    p.closeSync();
  });

  it('open({ truncate: true }) of a file whose write is landing is EAGAIN (its blocks are not freed under the job); after, it truncates', async () => {
    const { pool } = poolWithJobs();
    const f = pool.open('a', { create: true });
    await f.write(new Uint8Array(4096).fill(1), 0);
    await f.fsync();
    const w = f.write(new Uint8Array(8192).fill(2), 0);
    await new Promise((r) => setImmediate(r));
    expect(() => pool.open('a', { truncate: true })).toThrow(expect.objectContaining({ code: 'EAGAIN', syscall: 'open' }));
    await w;
    const t = pool.open('a', { truncate: true });
    expect(t.size).toBe(0);
    const g = pool.open('b', { create: true });
    g.writeSync(new Uint8Array(8192).fill(7), 0);
    g.fsyncSync();
    await new Promise((r) => setTimeout(r, 5));
    expect(bytesOf(pool, 'b').every((x) => x === 7)).toBe(true);
    await pool.close();
  });

  it('a write past the largest file size is EFBIG, as without store jobs: nothing lands, the pool reopens', async () => {
    const { dev, pool } = poolWithJobs();
    const f = pool.open('big', { create: true });
    await f.truncate(FILE_SIZE_MAX - 4096);
    f.writeSync(new Uint8Array(4096).fill(1), FILE_SIZE_MAX - 4096);
    await expect(f.write(new Uint8Array(100).fill(2), FILE_SIZE_MAX - 10)).rejects.toMatchObject({ code: 'EFBIG' });
    expect(f.size).toBe(FILE_SIZE_MAX);
    await pool.close();
    const p = Pool.openOn(dev);
    expect(p.check().ok).toBe(true);
    p.closeSync();
  });

  it('a write over poison takes the usual path, which clears it (the strict device has no directAccessPages)', async () => {
    const { dev, pool } = poolWithJobs();
    const f = pool.open('a', { create: true });
    await f.write(new Uint8Array(4096).fill(1), 0);
    await f.fsync();
    dev.injectBadblock((f.fiemap(0, 4096)[0] as { physical: number }).physical, 512);
    await expect(f.write(new Uint8Array(4096).fill(9), 0)).resolves.toBe(4096);
    expect(dev.badblocks()).toEqual([]);
    expect(bytesOf(pool, 'a').every((x) => x === 9)).toBe(true);
    await pool.close();
  });

  it('closeSync of a reopened pool (journal empty) with stores gathered behind a job: nothing reaches the media after it', async () => {
    const dev = new StrictMemoryDevice(8 * MiB, { persistAsync: true, random: () => 0.9 });
    let pool = Pool.createOn(dev);
    for (const name of ['a', 'b']) pool.open(name, { create: true }).writeSync(new Uint8Array(4096).fill(1), 0);
    pool.closeSync();
    pool = Pool.openOn(dev);
    const a = pool.open('a');
    const b = pool.open('b');
    const calls = [a.write(new Uint8Array(100).fill(2), 0)];
    for (let k = 0; k < 5; k++) await Promise.resolve();
    calls.push(b.write(new Uint8Array(100).fill(3), 0));
    for (let k = 0; k < 5; k++) await Promise.resolve();
    pool.closeSync();
    const media = dev.media.slice();
    for (const r of await Promise.allSettled(calls)) expect(r.status === 'fulfilled' || (r.reason as { code?: string }).code === 'ERR_PMEMDAX_CLOSED').toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.compare(media, dev.media)).toBe(0);
  });

  it('appendSync while an overwrite below EOF is landing runs (it touches nothing of it); past a landing append it is EAGAIN', async () => {
    const { pool } = poolWithJobs();
    const f = pool.open('a', { create: true });
    f.writeSync(new Uint8Array(65536).fill(1), 0);
    const w = f.write(new Uint8Array(10).fill(2), 0);
    await new Promise((r) => setImmediate(r));
    expect(f.appendSync(new Uint8Array(10).fill(3))).toBe(65536);
    const a = f.append(new Uint8Array(10).fill(4));
    await new Promise((r) => setImmediate(r));
    expect(() => f.appendSync(new Uint8Array(10))).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    await Promise.all([w, a]);
    expect(f.size).toBe(65556);
    await pool.close();
  });
});
