import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MiB, scratchPerTest } from '../support/scratch';

// docs/api.md, "Off the event loop": on a file on the disk (page granularity) a promise method's
// write-back runs on the libuv pool, so the event loop turns while it is in flight. Asserted by order
// (an immediate runs before the call settles), never by time.
describe('promise methods at page granularity leave the device wait to the thread pool (temp file on the disk)', () => {
  const s = scratchPerTest();

  /**
   * The loop turned before `call` settled, or the call's device work ran as jobs on the thread pool: a job
   * that ends before the loop reaches its next immediate settles the call in the poll phase, first.
   */
  async function settlesAfterATurn(pool: Pool, call: () => Promise<unknown>): Promise<boolean> {
    const flushes = pool.stats().flushes;
    let turned = false;
    const turn = nextTurn().then(() => {
      turned = true;
    });
    let turnedFirst = false;
    await call().then(() => {
      turnedFirst = turned;
    });
    await turn;
    return turnedFirst || pool.stats().flushes > flushes;
  }

  it('write, append on a sync handle, truncate, fsync, openAsync, renameAsync: the loop turns before each settles', async () => {
    const pool = Pool.open(s.file('p.pool'), { create: { size: 64 * MiB } });
    expect(pool.info.granularity).toBe('page');
    const f = pool.open('data', { create: true });
    const log = pool.open('log', { create: true, sync: true });
    const big = new Uint8Array(8 * MiB).fill(7);
    expect(await settlesAfterATurn(pool, () => f.write(big, 0))).toBe(true);
    expect(await settlesAfterATurn(pool, () => log.append(big.subarray(0, 4096)))).toBe(true);
    expect(await settlesAfterATurn(pool, () => f.truncate(4 * MiB))).toBe(true);
    await f.write(big.subarray(0, 100), 4 * MiB); // a new size for fsync to commit
    expect(await settlesAfterATurn(pool, () => f.fsync())).toBe(true);
    expect(await settlesAfterATurn(pool, () => pool.openAsync('new', { create: true }).then((g) => g.close()))).toBe(true);
    expect(await settlesAfterATurn(pool, () => pool.renameAsync('new', 'renamed'))).toBe(true);
    const st = pool.stats();
    expect(st.flushes).toBeGreaterThan(0);
    await pool.close();
    const again = Pool.open(s.file('p.pool'));
    expect(again.stat('data').size).toBe(4 * MiB + 100);
    expect(again.stat('log').size).toBe(4096);
    expect([...again.list()]).toEqual(['data', 'log', 'renamed']);
    again.closeSync();
  });

  it('concurrent synced appends share commits on the disk too', async () => {
    const pool = Pool.open(s.file('q.pool'), { create: { size: 64 * MiB } });
    const log = pool.open('log', { create: true, sync: true });
    const before = pool.stats();
    const offsets = await Promise.all(Array.from({ length: 32 }, () => log.append(new Uint8Array(512).fill(1))));
    expect(offsets).toEqual(Array.from({ length: 32 }, (_, i) => i * 512));
    expect(pool.stats().commits - before.commits).toBeLessThan(32);
    await pool.close();
  });
});
