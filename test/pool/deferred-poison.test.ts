import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { DeferredMemoryDevice } from './support/deferred-device';

const MiB = 1024 * 1024;

describe('poison under a promise method at page granularity (deferred write-back)', () => {
  it.each(['writeSync', 'write'] as const)('%s of a whole page over poison clears it, as a recovery write', async (how) => {
    const dev = new DeferredMemoryDevice(8 * MiB);
    const pool = Pool.createOn(dev);
    const f = pool.open('a', { create: true });
    await f.write(new Uint8Array(4096).fill(1), 0);
    await f.fsync();
    const [extent] = f.fiemap(0, 4096);
    const at = (extent as { physical: number }).physical;
    dev.injectBadblock(at, 512);
    const page = new Uint8Array(4096).fill(9);
    const n = how === 'write' ? await f.write(page, 0) : f.writeSync(page, 0);
    expect(n).toBe(4096);
    expect(dev.badblocks()).toEqual([]);
    const back = new Uint8Array(4096);
    f.readSync(back, 0);
    expect(back.every((b) => b === 9)).toBe(true);
    await pool.close();
  });
});
