import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { HoldClock } from '../../lib/pool/hold-clock';
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
    clock.stop(a);
    clock.stop(b);
    expect(clock.longestMs).toBeGreaterThanOrEqual(3);
    expect(clock.longestBusyMs).toBeNull();
  });

  it.runIf(schedstat)('the busy clock counts a piece less the time its thread waited for a CPU: never more than its wall time', () => {
    const clock = new HoldClock(true);
    for (let i = 0; i < 20; i++) {
      const t = clock.start();
      spin(1);
      clock.stop(t);
    }
    expect(clock.longestMs).toBeGreaterThanOrEqual(1);
    const busy = clock.longestBusyMs as number;
    expect(typeof busy).toBe('number');
    expect(busy).toBeLessThanOrEqual(clock.longestMs + 1e-6);
    // Pieces still in progress at once (a ring of slots) do not mix up their starts.
    const outer = clock.start();
    const inner = Array.from({ length: 10 }, () => clock.start());
    for (const t of inner) clock.stop(t);
    clock.stop(outer);
    // A piece that spans the close (a commit the pool's close overtook), and one after it: wall time only.
    const spanning = clock.start();
    const before = clock.longestBusyMs;
    clock.close();
    spin(2);
    clock.stop(spanning);
    const after = clock.start();
    clock.stop(after);
    expect(clock.longestBusyMs).toBe(before);
    expect(clock.longestMs).toBeGreaterThanOrEqual(2);
  });
});
