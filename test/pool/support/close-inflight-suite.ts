import { expect, it } from 'vitest';
import type { Pool, PoolFile } from '../../../lib';
import { PAGE_SIZE } from '../../../lib/iomap/constants';

/** Pools on the same media: a fresh one, and the same one opened again after a close. */
export interface PoolMedia {
  fresh(): Pool;
  reopen(): Pool;
  /** The media's bytes now, where the test can see them (a MemoryDevice). */
  image?(): Uint8Array;
}

type Outcome = { ok: true } | { ok: false; code: unknown };

function settle(p: Promise<unknown>): Promise<Outcome> {
  return p.then(
    () => ({ ok: true }),
    (e: unknown) => ({ ok: false, code: (e as { code?: unknown }).code }),
  );
}

function readAll(f: PoolFile): Uint8Array {
  const b = new Uint8Array(f.size);
  f.readSync(b, 0);
  return b;
}

const F_SIZE = PAGE_SIZE + 904;
const G_SIZE = 2 * PAGE_SIZE;
const NEW = new Uint8Array(100).fill(0xee);

/** What the pool looks like after the reopen, for a call's effect to be read from. */
interface After {
  f: PoolFile;
  g: PoolFile;
  pool: Pool;
  /** Free blocks before the call, on the pool it was made on. */
  freeBefore: number;
  /** Blocks a queued write ahead of the call took (it landed). */
  aheadBlocks: number;
}

interface Call {
  readonly name: string;
  /** Changes made and committed before the call (the base files are made already). */
  prepare?(pool: Pool, f: PoolFile, g: PoolFile): Promise<void>;
  issue(f: PoolFile, g: PoolFile): Promise<unknown>;
  /** Whether the call's effect is in the reopened pool. */
  kept(a: After): boolean;
}

const bytesAt = (f: PoolFile, pos: number, len: number): Uint8Array => readAll(f).subarray(pos, pos + len);
const all = (b: Uint8Array, v: number): boolean => b.length > 0 && b.every((x) => x === v);

/** Every async PoolFile call that changes something (read only looks). */
export const CALLS: readonly Call[] = [
  // A queued call ahead may have grown the file further: a call's effect is read where it lands.
  { name: 'write past EOF', issue: (f) => f.write(NEW, F_SIZE), kept: ({ f }) => f.size >= F_SIZE + 100 && all(bytesAt(f, F_SIZE, 100), 0xee) },
  { name: 'write inside the file', issue: (f) => f.write(NEW, 10), kept: ({ f }) => all(bytesAt(f, 10, 100), 0xee) },
  { name: 'append', issue: (f) => f.append(NEW), kept: ({ f }) => f.size >= F_SIZE + 100 && all(bytesAt(f, f.size - 100, 100), 0xee) },
  { name: 'truncate down', issue: (f) => f.truncate(100), kept: ({ f }) => f.size === 100 },
  { name: 'truncate up', issue: (f) => f.truncate(5 * PAGE_SIZE), kept: ({ f }) => f.size === 5 * PAGE_SIZE },
  { name: 'fallocate allocate', issue: (f) => f.fallocate('allocate', 0, 5 * PAGE_SIZE), kept: ({ f }) => f.size === 5 * PAGE_SIZE },
  { name: 'fallocate keep-size', issue: (f) => f.fallocate('keep-size', 0, 5 * PAGE_SIZE), kept: ({ f }) => f.stat().allocated === 5 * PAGE_SIZE },
  { name: 'fallocate punch-hole', issue: (f) => f.fallocate('punch-hole', 0, PAGE_SIZE), kept: ({ f, aheadBlocks }) => all(bytesAt(f, 0, PAGE_SIZE), 0) && f.stat().allocated === (1 + aheadBlocks) * PAGE_SIZE },
  { name: 'fallocate zero-range', issue: (f) => f.fallocate('zero-range', 0, 100), kept: ({ f }) => all(bytesAt(f, 0, 100), 0) },
  {
    name: 'clone into a longer range',
    issue: (f, g) => g.clone(f, 0, 2 * PAGE_SIZE, G_SIZE),
    kept: ({ f }) => f.size === 4 * PAGE_SIZE && all(bytesAt(f, 2 * PAGE_SIZE, G_SIZE), 5),
  },
  {
    name: 'dedupe',
    prepare: async (_pool, f, g) => {
      g.writeSync(new Uint8Array(PAGE_SIZE).fill(7), 0);
      await g.fsync();
      await f.fsync();
    },
    issue: (f, g) => f.dedupe(g, 0, 0, PAGE_SIZE),
    // Deduped: both files map page 0 to one block (the free count would also see the metadata the sharing takes).
    kept: ({ f, g }) => f.fiemap(0, PAGE_SIZE)[0]?.physical === g.fiemap(0, PAGE_SIZE)[0]?.physical,
  },
  {
    name: 'unshare',
    prepare: async (_pool, f, g) => {
      await g.clone(f, 0, 2 * PAGE_SIZE, G_SIZE);
    },
    issue: (f) => f.unshare(2 * PAGE_SIZE, G_SIZE),
    kept: ({ pool, freeBefore, aheadBlocks }) => pool.statfs().freeBlocks < freeBefore - aheadBlocks,
  },
  {
    name: 'fsync after a sync write past EOF',
    prepare: async (_pool, f) => void f.writeSync(NEW, F_SIZE),
    issue: (f) => f.fsync(),
    kept: ({ f }) => f.size >= F_SIZE + 100,
  },
  {
    name: 'fdatasync after a sync write past EOF',
    prepare: async (_pool, f) => void f.writeSync(NEW, F_SIZE),
    issue: (f) => f.fdatasync(),
    kept: ({ f }) => f.size >= F_SIZE + 100,
  },
];

/** Where the call stands in its file's queue when the close comes. */
const PLACES: readonly { name: string; ahead(f: PoolFile): Promise<unknown> | null }[] = [
  { name: 'first in its queue', ahead: () => null },
  { name: 'behind a queued write', ahead: (f) => f.write(new Uint8Array(10).fill(3), 2 * F_SIZE) },
  { name: 'behind a queued fsync', ahead: (f) => f.fsync() },
];

/** How the call's handle ends while the call is in flight. */
const ENDS: readonly { name: string; waits: boolean; end(pool: Pool, f: PoolFile, g: PoolFile): unknown }[] = [
  { name: 'pool.close()', waits: true, end: (pool) => pool.close() },
  { name: 'pool.closeSync()', waits: false, end: (pool) => pool.closeSync() },
  { name: 'file.close() of both handles, then pool.close() once they settle', waits: true, end: (_pool, f, g) => Promise.all([f.close(), g.close()]) },
];

async function base(pool: Pool): Promise<[PoolFile, PoolFile]> {
  const f = pool.open('f', { create: true });
  const g = pool.open('g', { create: true });
  f.writeSync(new Uint8Array(F_SIZE).fill(7), 0);
  g.writeSync(new Uint8Array(G_SIZE).fill(5), 0);
  await f.fsync();
  await g.fsync();
  return [f, g];
}

/**
 * Every async call × its place in the queue × how its handle ends, issued and not awaited. `close()`
 * (pool or file) waits: every call made before it resolves, and its effect is in the reopened pool.
 * `closeSync()` cannot wait: a call that resolves is kept, one that does not rejects with
 * ERR_PMEMDAX_CLOSED. Never resolved but lost.
 */
export function closeInflightSuite(media: PoolMedia): void {
  for (const end of ENDS) {
    for (const place of PLACES) {
      for (const call of CALLS) {
        it(`${call.name}, ${place.name}, then ${end.name}: ${end.waits ? 'resolves and is kept' : 'resolved means kept, else ERR_PMEMDAX_CLOSED'}`, async () => {
          let pool = media.fresh();
          const [f, g] = await base(pool);
          await call.prepare?.(pool, f, g);
          const freeBefore = pool.statfs().freeBlocks;
          const ahead = place.ahead(f);
          const outcomes = [ahead === null ? null : settle(ahead), settle(call.issue(f, g))];
          const ended = end.end(pool, f, g);
          const closedImage = pool.closed ? media.image?.().slice() : undefined;
          const [aheadOutcome, outcome] = await Promise.all(outcomes);
          await ended;
          // Nothing reaches the media after the close: no commit, no zeroing, no freed block reused.
          if (closedImage !== undefined) {
            const now = media.image?.() ?? closedImage;
            expect(closedImage.findIndex((b, i) => b !== now[i]), 'first byte changed after the close').toBe(-1);
          }
          await pool.close();
          pool = media.reopen();
          try {
            expect(pool.check().problems).toEqual([]);
            const aheadBlocks = place.name.includes('write') && aheadOutcome?.ok === true ? 1 : 0;
            const after: After = { f: pool.open('f', { readonly: true }), g: pool.open('g', { readonly: true }), pool, freeBefore, aheadBlocks };
            if (end.waits) expect([aheadOutcome?.ok ?? true, outcome?.ok]).toEqual([true, true]);
            if (outcome?.ok === true) expect(call.kept(after), 'resolved, so its effect must be in the reopened pool').toBe(true);
            else expect(outcome).toEqual({ ok: false, code: 'ERR_PMEMDAX_CLOSED' });
            if (aheadOutcome !== null && aheadOutcome !== undefined && !aheadOutcome.ok) expect(aheadOutcome.code).toBe('ERR_PMEMDAX_CLOSED');
            if (place.name.includes('write') && aheadOutcome?.ok === true && outcome?.ok !== true) expect(after.f.size).toBeGreaterThanOrEqual(2 * F_SIZE + 10);
          } finally {
            pool.closeSync();
          }
        });
      }
    }
  }

  it('write then fsync, neither awaited, then pool.close(): close waits, both resolve, the write is in the pool', async () => {
    let pool = media.fresh();
    const f = pool.open('f', { create: true });
    const w = settle(f.write(NEW, 0));
    const s = settle(f.fsync());
    const closing = pool.close();
    await expect(f.write(NEW, 0)).rejects.toMatchObject({ code: 'ERR_PMEMDAX_CLOSED' });
    expect(() => pool.open('g', { create: true })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    await closing;
    expect(pool.closed).toBe(true);
    const [wo, so] = await Promise.all([w, s]);
    pool = media.reopen();
    const size = pool.stat('f').size;
    pool.closeSync();
    expect([wo, so]).toEqual([{ ok: true }, { ok: true }]);
    expect(size).toBe(100);
  });

  it('write then fsync, neither awaited, then pool.closeSync(): both reject ERR_PMEMDAX_CLOSED, the file is as committed', async () => {
    let pool = media.fresh();
    const f = pool.open('f', { create: true });
    const w = settle(f.write(NEW, 0));
    const s = settle(f.fsync());
    pool.closeSync();
    const [wo, so] = await Promise.all([w, s]);
    pool = media.reopen();
    const size = pool.stat('f').size;
    pool.closeSync();
    expect([wo, so]).toEqual([
      { ok: false, code: 'ERR_PMEMDAX_CLOSED' },
      { ok: false, code: 'ERR_PMEMDAX_CLOSED' },
    ]);
    expect(size).toBe(0);
  });

  it('an unlinked file closed with a write in flight: the write settles, the file is freed once, the pool stays clean', async () => {
    let pool = media.fresh();
    const f = pool.open('f', { create: true });
    f.writeSync(new Uint8Array(F_SIZE).fill(7), 0);
    const free = pool.statfs().freeBlocks;
    const w = settle(f.write(new Uint8Array(3 * PAGE_SIZE).fill(1), F_SIZE));
    pool.unlink('f');
    f.close();
    const o = await w;
    if (!o.ok) expect(o.code).toBe('ERR_PMEMDAX_CLOSED');
    expect(pool.check().problems).toEqual([]);
    expect(pool.statfs().freeBlocks).toBe(free + 2);
    pool.closeSync();
    pool = media.reopen();
    expect(pool.check().problems).toEqual([]);
    expect([...pool.list()]).toEqual([]);
    pool.closeSync();
  });
}
