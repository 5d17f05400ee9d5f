import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice } from '../../lib/testing';

const immediates = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;

describe('PoolFile.close', () => {
  it('handles closed in a loop that never yields share one pending callback, and every close still settles after a macrotask', async () => {
    const pool = Pool.createOn(new MemoryDevice(8 * 1024 * 1024));
    const before = immediates();
    const closes: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      closes.push(pool.open(`f${i}`, { create: true }).close());
      pool.unlink(`f${i}`);
    }
    expect(immediates() - before).toBeLessThanOrEqual(1);
    let settled = false;
    void Promise.all(closes).then(() => {
      settled = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.resolve();
    expect(settled).toBe(true);
    await pool.close();
  });
});
