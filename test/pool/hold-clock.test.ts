import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { HoldClock } from '../../lib/pool/hold-clock';
import type { HoldPiece } from '../../lib';
import { MemoryDevice } from '../../lib/testing';

const MiB = 1024 * 1024;
const schedstat = existsSync('/proc/thread-self/schedstat');

/** Keep the thread for `ms` without yielding. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('pool.stats() hold clock (docs/api.md, PMEMDAX_HOLD_CLOCK)', () => {
  it.skipIf(process.env.PMEMDAX_HOLD_CLOCK !== undefined)('by default times wall clock only: longestHoldBusyMs is null', async () => {
    const pool = Pool.createOn(new MemoryDevice(8 * MiB));
    const f = pool.open('f', { create: true });
    await f.write(new Uint8Array(4096), 0);
    await f.read(new Uint8Array(4096), 0);
    const s = pool.stats();
    expect(s.longestHoldMs).toBeGreaterThan(0);
    expect(s.longestHoldBusyMs).toBeNull();
    await pool.close();
  });

  it('a piece is timed from start to stop, however many pieces interleave', () => {
    const clock = new HoldClock(false);
    const a = clock.start();
    spin(3);
    const b = clock.start();
    clock.stop(a, 'test');
    clock.stop(b, 'test');
    expect(clock.longestMs).toBeGreaterThanOrEqual(3);
    expect(clock.longestBusyMs).toBeNull();
    expect(clock.longestPieces.map((p) => p.what)).toEqual(['test', 'test']);
    expect(clock.longestPieces[0]?.busyMs).toBeNull();
  });

  for (const busy of [false, true]) {
    it.runIf(!busy || schedstat)(`keeps the 128 longest pieces, longest first (by ${busy ? 'busy' : 'wall'} time), with what each was; reset forgets them`, () => {
      const clock = new HoldClock(busy);
      for (let i = 0; i < 200; i++) {
        const t = clock.start();
        spin(i % 3 === 0 ? 0.05 : 0);
        clock.stop(t, `piece ${i}`);
      }
      const kept = clock.longestPieces;
      expect(kept).toHaveLength(128);
      const rank = (p: HoldPiece): number => (busy ? (p.busyMs as number) : p.wallMs);
      for (let i = 1; i < kept.length; i++) expect(rank(kept[i - 1] as HoldPiece)).toBeGreaterThanOrEqual(rank(kept[i] as HoldPiece));
      expect(rank(kept[0] as HoldPiece)).toBe(busy ? clock.longestBusyMs : clock.longestMs);
      expect(new Set(kept.map((p) => p.what)).size).toBe(128);
      for (const p of kept) expect(p.busyMs === null).toBe(!busy);
      clock.reset();
      expect(clock.longestPieces).toEqual([]);
      expect(clock.longestMs).toBe(0);
    });
  }

  it.runIf(schedstat)('the busy clock counts a piece less the time its thread waited for a CPU: never more than its wall time', () => {
    const clock = new HoldClock(true);
    for (let i = 0; i < 20; i++) {
      const t = clock.start();
      spin(1);
      clock.stop(t, 'test');
    }
    expect(clock.longestMs).toBeGreaterThanOrEqual(1);
    const busy = clock.longestBusyMs as number;
    expect(typeof busy).toBe('number');
    expect(busy).toBeLessThanOrEqual(clock.longestMs + 1e-6);
    // Pieces still in progress at once (a ring of slots) do not mix up their starts.
    const outer = clock.start();
    const inner = Array.from({ length: 10 }, () => clock.start());
    for (const t of inner) clock.stop(t, 'test');
    clock.stop(outer, 'test');
    // A piece that spans the close (a commit the pool's close overtook), and one after it: wall time only.
    const spanning = clock.start();
    const before = clock.longestBusyMs;
    clock.close();
    spin(2);
    clock.stop(spanning, 'test');
    const after = clock.start();
    clock.stop(after, 'test');
    expect(clock.longestBusyMs).toBe(before);
    expect(clock.longestMs).toBeGreaterThanOrEqual(2);
  });
});

describe('pool.stats({ reset }) starts a new window (docs/api.md)', () => {
  it('answers the totals so far, then counts from zero: commits, flushes and the longest holds', async () => {
    const pool = Pool.createOn(new MemoryDevice(8 * MiB));
    const f = pool.open('f', { create: true, sync: true });
    await Promise.all(Array.from({ length: 8 }, () => f.append(new Uint8Array(512))));
    const total = pool.stats({ reset: true });
    expect(total.commitRequests).toBeGreaterThan(0);
    expect(total.commits).toBeGreaterThan(0);
    expect(total.longestHoldMs).toBeGreaterThan(0);
    expect(pool.stats()).toMatchObject({ commitRequests: 0, commits: 0, records: 0, checkpoints: 0, flushes: 0, longestHoldMs: 0 });
    await f.append(new Uint8Array(512));
    const after = pool.stats();
    expect(after.commitRequests).toBe(1);
    expect(after.commits).toBe(1);
    // Without reset, nothing restarts.
    expect(pool.stats()).toEqual(after);
    await pool.close();
  });

  it('times the long pieces of synchronous calls too: a checkpoint (made when the journal fills) and the batches of a listing', () => {
    using pool = Pool.createOn(new MemoryDevice(8 * MiB), { journalBytes: 64 * 1024 });
    for (let i = 0; pool.stats().checkpoints === 0; i++) pool.open(`n${i}`, { create: true }).close();
    let held = pool.stats().longestHolds.map((p) => p.what);
    expect(held).toContain('checkpoint');
    expect(pool.stats().longestHoldMs).toBeGreaterThan(0);
    pool.stats({ reset: true });
    expect([...pool.list({ limit: 3 })]).toHaveLength(3);
    held = pool.stats().longestHolds.map((p) => p.what);
    expect(new Set(held)).toEqual(new Set(['list']));
    pool.sync();
  });

  it('checks its options as Node does: undefined and {} are fine; null, non-objects and a non-boolean reset are TypeErrors', async () => {
    const pool = Pool.createOn(new MemoryDevice(8 * MiB));
    for (const ok of [undefined, {}, { reset: false }, { reset: undefined }]) expect(() => pool.stats(ok)).not.toThrow();
    const bad: unknown[] = [null, 1, 'reset', true, 1n, Symbol('x'), { reset: 1 }, { reset: 'true' }, { reset: null }, { reset: 0n }];
    for (const opts of bad) {
      expect(() => pool.stats(opts as never), String(opts)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    }
    await pool.close();
  });
});
