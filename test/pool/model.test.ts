import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { MemoryDevice } from '../../lib/testing';
import { runModelOn } from '../dax/support/model';
import { seedFrom } from '../dax/support/prng';
import { poolTarget } from './support/pool-target';

// Replay a failure with: PMEMDAX_MODEL_SEED=<seed> npx vitest run --project unit test/pool/model.test.ts
const SEED = seedFrom('PMEMDAX_MODEL_SEED');
const OPS = Number(process.env.PMEMDAX_MODEL_OPS ?? 20_000);

describe('model-based: the pool\'s files and iomap ops against byte arrays', () => {
  it(`runs ${OPS} random operations with zero divergences, read-only and writable reopens included (seed ${SEED})`, async () => {
    const device = new MemoryDevice(16 * 1024 * 1024);
    const target = poolTarget(Pool.createOn(device), 3, () => Pool.openOn(device));
    let counts: Map<string, number>;
    try {
      counts = await runModelOn(target, SEED, OPS, 48 * PAGE_SIZE);
    } catch (e) {
      console.error(`pool model test failed; replay with PMEMDAX_MODEL_SEED=${SEED}`);
      throw e;
    } finally {
      target.pool.closeSync();
    }
    let total = 0;
    for (const n of counts.values()) total += n;
    expect(total).toBe(OPS);
    for (const op of ['write', 'read', 'zero', 'truncate', 'punch', 'fallocate', 'seek', 'fiemap', 'reflink', 'unshare', 'dedupe', 'fsync', 'fault']) {
      expect(counts.get(op) ?? 0).toBeGreaterThan(0);
    }
    // The pool closed cleanly holds what the last comparison saw.
    const again = Pool.openOn(device, { readonly: true });
    try {
      expect([...again.list()]).toEqual(['m0', 'm1', 'm2']);
      expect(again.check().problems).toEqual([]);
    } finally {
      again.closeSync();
    }
  }, 120_000);
});
