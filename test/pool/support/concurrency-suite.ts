import { expect, it } from 'vitest';
import type { Pool, PoolFile } from '../../../lib';
import { expectSameBytes, pattern } from '../../support/buffer-kinds';

/** A deterministic source in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function readAll(f: PoolFile): Uint8Array {
  const b = new Uint8Array(f.size);
  expect(f.readSync(b, 0)).toBe(f.size);
  return b;
}

/**
 * Concurrent calls against a serial model, on pools `fresh` makes and `reopen` opens again after a
 * close (the same media).
 */
export function concurrencySuite(fresh: () => Pool, reopen: (closed: Pool) => Pool): void {
  it('1,000 interleaved appends of random sizes over two handles: own offsets, in call order, all bytes kept', async () => {
    let pool = fresh();
    const a = pool.open('log', { create: true });
    const b = pool.open('log');
    const random = lcg(7);
    const chunks: Uint8Array[] = [];
    const offsets: (number | Promise<number>)[] = [];
    for (let i = 0; i < 1000; i++) {
      const chunk = pattern(1 + Math.floor(random() * 3000), i);
      chunks.push(chunk);
      const f = random() < 0.5 ? a : b;
      offsets.push(random() < 0.6 ? f.append(chunk) : f.appendSync(chunk));
    }
    const got = await Promise.all(offsets);
    const expected: number[] = [];
    let end = 0;
    for (const c of chunks) {
      expected.push(end);
      end += c.length;
    }
    expect(got).toEqual(expected);
    const model = new Uint8Array(end);
    chunks.forEach((c, i) => model.set(c, expected[i] as number));
    expect(a.size).toBe(end);
    expectSameBytes(readAll(a), model);
    await a.fsync();
    a.close();
    b.close();
    pool = reopen(pool);
    const again = pool.open('log', { readonly: true });
    expectSameBytes(readAll(again), model);
    expect(pool.check().problems).toEqual([]);
    pool.closeSync();
  });

  it('Promise.all of three appends keeps all three (the issue example)', async () => {
    using pool = fresh();
    const f = pool.open('x', { create: true });
    const [p, q, r] = [pattern(10, 1), pattern(20, 2), pattern(30, 3)];
    expect(await Promise.all([f.append(p), f.append(q), f.append(r)])).toEqual([0, 10, 30]);
    expectSameBytes(readAll(f), new Uint8Array([...p, ...q, ...r]));
  });

  it('an append that fails (ENOSPC) between others: the later ones keep their offsets and the gap reads as zeros', async () => {
    using pool = fresh();
    const f = pool.open('x', { create: true });
    const free = pool.statfs().freeBlocks * 4096;
    const [p, r] = [pattern(100, 1), pattern(200, 3)];
    const results = await Promise.allSettled([f.append(p), f.append(new Uint8Array(free + 4096)), f.append(r)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 0 });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'ENOSPC' } });
    const at = (results[2] as PromiseFulfilledResult<number>).value;
    expect(at).toBe(100 + free + 4096);
    const data = readAll(f);
    expectSameBytes(data.subarray(0, 100), p);
    expect(data.subarray(100, at).every((x) => x === 0)).toBe(true);
    expectSameBytes(data.subarray(at), r);
    expect(pool.check().problems).toEqual([]);
  });

  it('a failed last append reserves nothing: the next append starts at the end', async () => {
    using pool = fresh();
    const f = pool.open('x', { create: true });
    const free = pool.statfs().freeBlocks * 4096;
    const done = Promise.allSettled([f.append(pattern(100, 1)), f.append(new Uint8Array(free + 4096))]);
    await done;
    expect(await f.append(pattern(5, 2))).toBe(100);
    expect(f.size).toBe(105);
  });

  it('a write racing a truncate ends as one of the two serial orders, never a size over freed blocks', async () => {
    using pool = fresh();
    const f = pool.open('x', { create: true });
    const data = pattern(10_000, 4);
    await Promise.all([f.write(data, 0), f.truncate(0)]);
    expect(f.size).toBe(0);
    await Promise.all([f.truncate(0), f.write(data, 0)]);
    expectSameBytes(readAll(f), data);
    expect(pool.check().problems).toEqual([]);
  });

  it('Promise.all of mixed calls equals their serial call order (against a model)', async () => {
    using pool = fresh();
    const f = pool.open('x', { create: true });
    const g = pool.open('y', { create: true });
    await g.write(pattern(8192, 9), 0);
    const random = lcg(11);
    let model = new Uint8Array(0);
    const grow = (n: number): void => {
      if (n > model.length) {
        const m = new Uint8Array(n);
        m.set(model);
        model = m;
      }
    };
    for (let round = 0; round < 20; round++) {
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 12; i++) {
        const r = random();
        if (r < 0.35) {
          const c = pattern(1 + Math.floor(random() * 5000), round * 100 + i);
          const at = model.length;
          grow(at + c.length);
          model.set(c, at);
          calls.push(f.append(c).then((pos) => expect(pos).toBe(at)));
        } else if (r < 0.6) {
          const c = pattern(1 + Math.floor(random() * 5000), round * 100 + i);
          const pos = Math.floor(random() * 20_000);
          grow(pos + c.length);
          model.set(c, pos);
          calls.push(f.write(c, pos));
        } else if (r < 0.75) {
          const size = Math.floor(random() * 20_000);
          const m = new Uint8Array(size);
          m.set(model.subarray(0, size));
          model = m;
          calls.push(f.truncate(size));
        } else if (r < 0.85) {
          const off = Math.floor(random() * 5) * 4096;
          const len = 4096 * (1 + Math.floor(random() * 2));
          model.fill(0, off, Math.min(model.length, off + len));
          calls.push(f.fallocate('punch-hole', off, len));
        } else if (r < 0.93) {
          const dst = Math.floor(random() * 4) * 4096;
          grow(dst + 8192);
          model.set(pattern(8192, 9), dst);
          calls.push(g.clone(f, 0, dst, 8192));
        } else {
          calls.push(f.fsync());
        }
      }
      await Promise.all(calls);
      expect(f.size).toBe(model.length);
      expectSameBytes(readAll(f), model);
    }
    expect(pool.check().problems).toEqual([]);
  });

  it('sync calls never wait: EAGAIN while a truncate is queued, and after it they run', async () => {
    using pool = fresh();
    const f = pool.open('x', { create: true });
    f.writeSync(pattern(5000, 1), 0);
    const t = f.truncate(100);
    const queued = f.append(pattern(10, 2));
    expect(() => f.appendSync(pattern(10, 3))).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    await t;
    expect(await queued).toBe(100);
    expect(f.appendSync(pattern(10, 3))).toBe(110);
  });

  it('a sync write over a range an async write still has queued is EAGAIN; elsewhere it runs', async () => {
    using pool = fresh();
    const f = pool.open('x', { create: true });
    const first = f.write(pattern(100, 1), 0);
    const queued = f.write(pattern(100, 2), 1000);
    expect(() => f.writeSync(pattern(10, 3), 1050)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    expect(f.writeSync(pattern(10, 3), 5000)).toBe(10);
    // An append goes after everything queued and written so far.
    expect(f.appendSync(pattern(10, 4))).toBe(5010);
    await Promise.all([first, queued]);
    expect(f.size).toBe(5020);
  });
}
