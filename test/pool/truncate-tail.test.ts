import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice, StrictMemoryDevice } from '../../lib/testing';
import { Prng } from '../dax/support/prng';

// A shrinking truncate to an unaligned size zeroes the tail of the new last page (what a later extension
// must read as zeros). Bytes inside the old size may be zeroed only once the new size is committed.
const DEVICE = 4 * 1024 * 1024;
const OLD = 8192;
const NEW = 5000;

/** `{ size, whole }` of file 'a': whole when every byte up to its size is the one written. */
function look(pool: Pool): { size: number; whole: boolean } {
  const f = pool.open('a', { readonly: true });
  try {
    const bytes = Buffer.alloc(f.size);
    f.readSync(bytes, 0);
    return { size: f.size, whole: bytes.every((b) => b === 0xee) };
  } finally {
    void f.close();
  }
}

async function truncated(device: MemoryDevice): Promise<{ pool: Pool; done: Promise<void> }> {
  const pool = Pool.createOn(device);
  const f = pool.open('a', { create: true });
  f.writeSync(Buffer.alloc(OLD, 0xee), 0);
  await f.fsync();
  return { pool, done: f.truncate(NEW) };
}

describe('a shrinking truncate to an unaligned size', () => {
  it('every crash image along it holds the old file whole or the new one, never the old size with zeros inside', async () => {
    const device = new StrictMemoryDevice(DEVICE);
    const image = new MemoryDevice(DEVICE);
    const rng = new Prng(17);
    const sizes = new Set<number>();
    const problems: string[] = [];
    const { pool, done } = await truncated(device);
    device.onDrain = (drain) => {
      for (const newest of [0, 1, 0.5]) {
        device.crashImageInto(image.bytes, () => rng.next(), { newest });
        const p = Pool.openOn(image, { path: 'crash-image' });
        try {
          const got = look(p);
          sizes.add(got.size);
          if (!got.whole || (got.size !== OLD && got.size !== NEW)) problems.push(`drain ${drain}: ${JSON.stringify(got)}`);
        } finally {
          p.closeSync();
        }
      }
    };
    await done;
    device.onDrain = null;
    expect(problems).toEqual([]);
    expect(sizes).toEqual(new Set([OLD, NEW]));
    expect(look(pool)).toEqual({ size: NEW, whole: true });
    pool.closeSync();
  });

  it("the writer's own reads see the old size and bytes or the new size, turn after turn", async () => {
    const { pool, done } = await truncated(new MemoryDevice(DEVICE));
    let settled = false;
    void done.then(() => (settled = true));
    const seen: { size: number; whole: boolean }[] = [];
    // Mostly microtask by microtask; a macrotask now and then lets the commit's own turns come.
    for (let i = 0; !settled; i++) {
      seen.push(look(pool));
      await (i % 16 === 15 ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve());
    }
    await done;
    expect(seen.filter((s) => !s.whole || (s.size !== OLD && s.size !== NEW))).toEqual([]);
    expect(seen.at(-1)).toEqual({ size: NEW, whole: true });
    pool.closeSync();
  });

  it('cut short between its 2 MiB pieces by a crash after another call commits, it leaves a file cut whole, and growing it again reads zeros', async () => {
    const big = 3 * 1024 * 1024;
    const device = new StrictMemoryDevice(4 * big);
    const image = new MemoryDevice(4 * big);
    const rng = new Prng(5);
    const problems: string[] = [];
    const sizes = new Set<number>();
    const pool = Pool.createOn(device);
    const a = pool.open('a', { create: true });
    a.writeSync(Buffer.alloc(big, 0xee), 0);
    await a.fsync();
    const b = pool.open('b', { create: true, sync: true });
    device.onDrain = (drain) => {
      device.crashImageInto(image.bytes, () => rng.next(), { newest: rng.next() });
      const p = Pool.openOn(image, { path: 'crash-image' });
      try {
        const f = p.open('a');
        const size = f.size;
        sizes.add(size);
        const bytes = Buffer.alloc(size);
        f.readSync(bytes, 0);
        if (!bytes.every((x) => x === 0xee)) problems.push(`drain ${drain}: size ${size}, not the old bytes`);
        if (size === big) return;
        // Grown back: what lay past the cut reads as zeros, whatever the cut left mapped there.
        f.writeSync(Buffer.from([1]), big - 1);
        const grown = Buffer.alloc(big - 1 - size);
        f.readSync(grown, size);
        if (!grown.every((x) => x === 0)) problems.push(`drain ${drain}: cut at ${size}, grown back, not zeros`);
      } finally {
        p.closeSync();
      }
    };
    const done = a.truncate(NEW);
    let settled = false;
    void done.then(() => (settled = true));
    // Another file's durable writes commit the pool's state between the truncate's pieces.
    for (let i = 0; !settled; i++) {
      b.writeSync(Buffer.alloc(16, i), i * 4096);
      await new Promise((resolve) => setImmediate(resolve));
    }
    device.onDrain = null;
    expect(problems).toEqual([]);
    expect([...sizes].some((size) => size !== big && size !== NEW)).toBe(true);
    pool.closeSync();
  });

  it('whose new last page must be copied and the pool is full, still cuts the file (ENOSPC only leaves bytes past EOF), and growing it reads zeros', async () => {
    const pool = Pool.createOn(new MemoryDevice(DEVICE));
    const a = pool.open('a', { create: true });
    a.writeSync(Buffer.alloc(4096, 0xab), 0);
    a.writeSync(Buffer.alloc(8192, 0xcd), 4096);
    const b = pool.open('b', { create: true });
    // Page 0 shared with b: zeroing its tail has to copy it first.
    await a.clone(b, 0, 0, 4096);
    const filler = pool.open('filler', { create: true });
    let at = 0;
    for (const chunk of [Buffer.alloc(64 * 1024, 1), Buffer.alloc(4096, 1)]) {
      for (;; at += chunk.length) {
        try {
          filler.writeSync(chunk, at);
        } catch (e) {
          expect(e).toMatchObject({ code: 'ENOSPC' });
          break;
        }
      }
    }
    // Full: the copy the zeroing needs has no room.
    await expect(b.write(Buffer.alloc(10, 2), 0)).rejects.toMatchObject({ code: 'ENOSPC' });
    await a.truncate(100);
    expect(a.size).toBe(100);
    await filler.truncate(0);
    await a.truncate(12288);
    const bytes = Buffer.alloc(12288);
    a.readSync(bytes, 0);
    expect(bytes.subarray(0, 100).every((x) => x === 0xab)).toBe(true);
    expect(bytes.subarray(100).every((x) => x === 0)).toBe(true);
    pool.closeSync();
  });

  it('of a sparse file takes a piece (and a turn) per 2 MiB that holds blocks, not per 2 MiB of holes', async () => {
    const pool = Pool.createOn(new MemoryDevice(DEVICE));
    const f = pool.open('a', { create: true });
    // One page at 64 GiB and one at 0: 32,768 pieces of 2 MiB between them, all holes.
    f.writeSync(Buffer.alloc(4096, 0xee), 64 * 1024 ** 3);
    f.writeSync(Buffer.alloc(4096, 0xee), 0);
    let turns = 0;
    let done = false;
    const count = (): void => {
      turns++;
      if (!done) setImmediate(count);
    };
    setImmediate(count);
    await f.truncate(100);
    done = true;
    expect(turns).toBeLessThan(50);
    expect(f.size).toBe(100);
    expect(f.stat().allocated).toBe(4096);
    expect(pool.check().problems).toEqual([]);
    pool.closeSync();
  });
});
