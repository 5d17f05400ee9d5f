import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/scratch';

const schedstat = existsSync('/proc/thread-self/schedstat');

describe('PMEMDAX_HOLD_CLOCK (docs/api.md, environment overrides)', () => {
  it.runIf(schedstat)('PMEMDAX_HOLD_CLOCK=busy turns it on for pools opened in that process', () => {
    const code = `
      const { Pool } = require(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'index.js'))});
      const { MemoryDevice } = require(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'testing', 'index.js'))});
      (async () => {
        const pool = Pool.createOn(new MemoryDevice(8 << 20));
        const f = pool.open('f', { create: true });
        const t0 = performance.now();
        await f.write(new Uint8Array(4096), 0);
        await f.read(new Uint8Array(4096), 0);
        const s = pool.stats();
        await pool.close();
        process.stdout.write(JSON.stringify([s.longestHoldMs, s.longestHoldBusyMs, s.longestHolds, t0]));
      })();`;
    const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, PMEMDAX_HOLD_CLOCK: 'busy' }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const [wall, busy, pieces, t0] = JSON.parse(r.stdout) as [number, number | null, { what: string; startMs: number; busyMs: number | null }[], number];
    expect(typeof busy).toBe('number');
    expect(busy as number).toBeLessThanOrEqual(wall + 1e-6);
    // The kept pieces name what they were, start on the performance.now() clock, and the first is the longest.
    expect(pieces.map((p) => p.what)).toEqual(expect.arrayContaining(['store', 'read']));
    for (const p of pieces) expect(p.startMs).toBeGreaterThanOrEqual(t0);
    expect(pieces[0]?.busyMs).toBe(busy);
  });
});
