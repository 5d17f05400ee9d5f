import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkMapping } from '../../lib/dax/check';
import { deleteMappingEntry, deleteMappingRange } from '../../lib/dax/delete';
import type { DaxEntry } from '../../lib/dax/entry';
import { FALLBACK, grabMappingEntry } from '../../lib/dax/grab';
import { insertEntry } from '../../lib/dax/insert';
import { invalidateMappingEntrySync } from '../../lib/dax/invalidate';
import { removeEntry, unlockEntry } from '../../lib/dax/lock';
import { daxLockMappingEntry, daxUnlockMappingEntry, NOTHING_TO_LOCK } from '../../lib/dax/lock-mapping-entry';
import { DaxMapping } from '../../lib/dax/mapping';
import { waitersOn } from '../../lib/dax/wait-table';
import { daxWritebackMappingRange } from '../../lib/dax/writeback';
import { Prng } from './support/prng';
import { flushingDevice } from './support/mapping-harness';

/** Let other tasks run for `n` turns of the event loop (microtasks and macrotasks alike). */
async function yieldTurns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) await Promise.resolve();
    else await new Promise<void>((r) => setImmediate(r));
  }
}

/**
 * Fails the test instead of hanging when tasks deadlock: `p` must settle within `turns` turns of the event
 * loop. Counted in turns, not milliseconds, so a busy machine that stalls the process cannot fail it.
 */
async function within<T>(p: Promise<T>, turns: number, what: string): Promise<T> {
  let settled = false;
  const tracked = p.finally(() => {
    settled = true;
  });
  for (let i = 0; i < turns && !settled; i++) await new Promise<void>((r) => setImmediate(r));
  if (!settled) throw new Error(`${what}: not finished after ${turns} turns of the event loop (lost wakeup?)`);
  return tracked;
}

interface Contention {
  tasks: number;
  rounds: number;
  /** Indices the tasks fight over (PTE requests); PMD requests use their PMD base. */
  indices: number[];
  seed: number;
  deletes: boolean;
}

/**
 * Runs `tasks` async tasks, each doing grab → insert/await → unlock `rounds` times on a few shared
 * indices, with PTE and PMD requests mixed and (optionally) deleters and invalidators in between.
 * Records every violation of single ownership.
 */
async function contend(c: Contention) {
  const m = new DaxMapping();
  const inode = { size: 1 << 40, blockSize: 4096, mapping: m };
  const dev = flushingDevice();
  const rng = new Prng(c.seed);
  const held = new Map<DaxEntry, number>();
  const violations: string[] = [];
  let acquisitions = 0;
  let fallbacks = 0;
  const worker = async (id: number): Promise<void> => {
    for (let r = 0; r < c.rounds; r++) {
      const index = rng.pick(c.indices);
      const pmd = rng.int(3) === 0;
      const e = await grabMappingEntry(m, index, pmd ? 9 : 0);
      if (e === FALLBACK) {
        fallbacks++;
        await yieldTurns(1);
        continue;
      }
      acquisitions++;
      // Invariant 6: nobody else holds this entry, or any entry overlapping it.
      if ((held.get(e) ?? 0) !== 0) violations.push(`task ${id}: entry ${e.index} already held`);
      for (const [other, n] of held) {
        if (n > 0 && other !== e && other.index < e.index + e.pages && e.index < other.index + other.pages) {
          violations.push(`task ${id}: ${e.index} overlaps held ${other.index}`);
        }
      }
      if (!e.locked || !e.present) violations.push(`task ${id}: got an entry that is not locked and present`);
      held.set(e, (held.get(e) ?? 0) + 1);
      await yieldTurns(rng.int(4));
      if (rng.int(2) === 0) {
        insertEntry(m, e, { pfn: e.isPmd ? 512 * (1 + rng.int(8)) : rng.int(4096), zero: rng.int(3) === 0 }, { write: rng.int(2) === 0, sync: false, shared: false });
      }
      held.set(e, (held.get(e) ?? 1) - 1);
      unlockEntry(m, e);
      await yieldTurns(rng.int(2));
    }
  };
  const deleter = async (): Promise<void> => {
    for (let r = 0; r < c.rounds; r++) {
      const index = rng.pick(c.indices);
      const what = rng.int(4);
      if (what === 0) {
        const e = m.tree.load(index);
        if (e !== undefined && !e.locked) {
          removeEntry(m, e);
          // Invariant 9: right after a deletion nobody still waits on the deleted entry's key.
          if (waitersOn(m.id, e.index) !== 0) violations.push(`waiters left on deleted ${e.index}`);
        } else {
          await deleteMappingEntry(m, index);
        }
      } else if (what === 1) {
        await invalidateMappingEntrySync(m, index);
      } else if (what === 2) {
        await deleteMappingRange(m, index, index + 3);
      } else {
        await daxWritebackMappingRange(inode, dev, { sync: true });
      }
      await yieldTurns(1 + rng.int(3));
    }
  };
  const all: Promise<void>[] = [];
  for (let i = 0; i < c.tasks; i++) all.push(worker(i));
  if (c.deletes) all.push(deleter(), deleter());
  // Some task moves on every turn until all are done: hundreds of turns per task-round is a hang, not slowness.
  await within(Promise.all(all), 500 * (c.tasks + 2) * c.rounds, `${c.tasks} tasks`);
  return { m, violations, acquisitions, fallbacks };
}

/** After everything finished: nothing locked, nobody waiting on any key (invariants 7, 8). */
function quiescent(m: DaxMapping, indices: number[]): string[] {
  const problems = checkMapping(m, true);
  for (const i of indices) {
    for (const key of [i, i - (i % 512)]) if (waitersOn(m.id, key) !== 0) problems.push(`waiters left on key ${key}`);
  }
  return problems;
}

describe('entry locks and the wait table (docs/semantics.md §3.2)', { timeout: 60_000 }, () => {
  it('invariant 6: at most one task holds an entry, and unlocking an unlocked entry is an error', async () => {
    const m = new DaxMapping();
    const e = await grabMappingEntry(m, 5, 0);
    if (e === FALLBACK) throw new Error('unexpected fallback');
    let second = false;
    const p = grabMappingEntry(m, 5, 0).then((x) => {
      second = true;
      return x;
    });
    await yieldTurns(6);
    expect(second).toBe(false);
    unlockEntry(m, e);
    const x = await p;
    expect(x).toBe(e);
    if (x === FALLBACK) return;
    unlockEntry(m, x);
    expect(() => unlockEntry(m, x)).toThrow(/unlock of unlocked entry/);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 12 }), fc.nat(), async (tasks, seed) => {
        const r = await contend({ tasks, rounds: 8, indices: [0, 1, 2, 511, 512, 600], seed, deletes: true });
        expect(r.violations).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('invariant 7: when every operation has returned, no entry is still locked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 10 }), fc.nat(), async (tasks, seed) => {
        const indices = [3, 4, 512, 1000];
        const r = await contend({ tasks, rounds: 10, indices, seed, deletes: true });
        expect(r.m.tree.collect(0, 1 << 20).filter((e) => e.locked)).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('invariant 8: N tasks contending for one PTE entry all finish (wake one per unlock, no lost wakeups)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 24 }), fc.nat(), async (tasks, seed) => {
        const r = await contend({ tasks, rounds: 12, indices: [7], seed, deletes: false });
        expect(r.violations).toEqual([]);
        expect(quiescent(r.m, [7])).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });

  it('invariant 8: a woken task that does not take the lock passes the wakeup on', async () => {
    const m = new DaxMapping();
    const e = await grabMappingEntry(m, 9, 0);
    if (e === FALLBACK) throw new Error('unexpected fallback');
    insertEntry(m, e, { pfn: 4, zero: false }, { write: true, sync: false, shared: false });
    // An invalidator that will find the entry dirty and skip it, and a grabber behind it.
    const skip = invalidateMappingEntrySync(m, 9);
    const grab = grabMappingEntry(m, 9, 0);
    await yieldTurns(4);
    expect(waitersOn(m.id, 9)).toBe(2);
    unlockEntry(m, e);
    expect(await within(skip, 1000, 'invalidator')).toBe(false);
    const g = await within(grab, 1000, 'grabber');
    expect(g).toBe(e);
    if (g !== FALLBACK) unlockEntry(m, g);
    expect(waitersOn(m.id, 9)).toBe(0);
  });

  it('invariant 8: a non-exclusive waiter (memory-failure lock) never consumes the wakeup an exclusive waiter needs', async () => {
    const m = new DaxMapping();
    const e = await grabMappingEntry(m, 11, 0);
    if (e === FALLBACK) throw new Error('unexpected fallback');
    insertEntry(m, e, { pfn: 0, zero: true }, { write: false, sync: false, shared: false });
    const shared = daxLockMappingEntry(m, 11);
    const exclusive = grabMappingEntry(m, 11, 0);
    await yieldTurns(4);
    expect(waitersOn(m.id, 11)).toBe(2);
    unlockEntry(m, e);
    // One wake-one releases both: the shared waiter finds a ZERO entry and takes nothing.
    expect(await within(shared, 1000, 'shared waiter')).toBe(NOTHING_TO_LOCK);
    const g = await within(exclusive, 1000, 'exclusive waiter');
    expect(g).toBe(e);
    if (g !== FALLBACK) unlockEntry(m, g);
    expect(waitersOn(m.id, 11)).toBe(0);
  });

  it('the memory-failure lock takes REAL entries only', async () => {
    const m = new DaxMapping();
    expect(await daxLockMappingEntry(m, 1)).toBe(NOTHING_TO_LOCK);
    const e = await grabMappingEntry(m, 1, 0);
    if (e === FALLBACK) throw new Error('unexpected fallback');
    insertEntry(m, e, { pfn: 12, zero: false }, { write: false, sync: false, shared: false });
    unlockEntry(m, e);
    const locked = await daxLockMappingEntry(m, 1);
    expect(locked).toBe(e);
    expect(e.locked).toBe(true);
    daxUnlockMappingEntry(m, locked);
    expect(e.locked).toBe(false);
  });

  it('invariant 9: deleting an entry wakes every waiter on it (a PMD downgrade, keyed by the PMD base)', async () => {
    const m = new DaxMapping();
    const pmd = await grabMappingEntry(m, 1024, 9);
    if (pmd === FALLBACK) throw new Error('unexpected fallback');
    const a = grabMappingEntry(m, 1030, 0);
    const b = grabMappingEntry(m, 1100, 0);
    const c = grabMappingEntry(m, 1500, 0);
    await yieldTurns(4);
    expect(waitersOn(m.id, 1024)).toBe(3);
    unlockEntry(m, pmd);
    const got = await within(Promise.all([a, b, c]), 1000, 'waiters of a downgraded PMD');
    expect(pmd.present).toBe(false);
    expect(waitersOn(m.id, 1024)).toBe(0);
    expect(got.map((e) => (e === FALLBACK ? -1 : e.index))).toEqual([1030, 1100, 1500]);
    for (const e of got) if (e !== FALLBACK) unlockEntry(m, e);
    expect(m.nrpages).toBe(3);
  });

  it('invariant 9: after deleteMappingEntry returns, nobody waits on the deleted key', async () => {
    const m = new DaxMapping();
    const e = await grabMappingEntry(m, 42, 0);
    if (e === FALLBACK) throw new Error('unexpected fallback');
    const del = deleteMappingEntry(m, 42);
    const inv = invalidateMappingEntrySync(m, 42);
    await yieldTurns(4);
    unlockEntry(m, e);
    expect(await within(del, 1000, 'delete')).toBe(true);
    expect(waitersOn(m.id, 42)).toBe(0);
    expect(await within(inv, 1000, 'invalidate')).toBe(false);
  });

  it('concurrency: many tasks on the same PTE and PMD entries with deletes in between all finish, nothing stays locked', async () => {
    const indices = [0, 1, 2, 3, 256, 511, 512, 513, 1024];
    for (let seed = 1; seed <= 6; seed++) {
      const r = await contend({ tasks: 32, rounds: 40, indices, seed, deletes: true });
      expect(r.violations).toEqual([]);
      expect(quiescent(r.m, indices)).toEqual([]);
      expect(r.acquisitions).toBeGreaterThan(32 * 40 * 0.3);
      expect(r.fallbacks).toBeGreaterThan(0);
    }
  });
});
