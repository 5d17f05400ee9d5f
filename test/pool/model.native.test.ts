import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { runModelOn } from '../dax/support/model';
import { seedFrom } from '../dax/support/prng';
import { poolTarget } from './support/pool-target';

// Replay a failure with: PMEMDAX_MODEL_SEED=<seed> npx vitest run --project native test/pool/model.native.test.ts
const SEED = seedFrom('PMEMDAX_MODEL_SEED');
const OPS = 3000;

describe('model-based: the pool on a native Device against byte arrays', () => {
  it(`runs ${OPS} random operations on a pool file with zero divergences, read-only and writable reopens included (seed ${SEED})`, async () => {
    const dir = process.platform === 'linux' ? '/dev/shm' : tmpdir();
    const file = path.join(dir, `pmemdax-pool-model-${process.pid}.pool`);
    try {
      const target = poolTarget(Pool.create(file, { size: 16 * 1024 * 1024 }), 3, () => Pool.open(file));
      let counts: Map<string, number>;
      try {
        counts = await runModelOn(target, SEED, OPS, 32 * PAGE_SIZE);
      } catch (e) {
        console.error(`pool model (native) failed; replay with PMEMDAX_MODEL_SEED=${SEED}`);
        throw e;
      } finally {
        target.pool.closeSync();
      }
      let total = 0;
      for (const n of counts.values()) total += n;
      expect(total).toBe(OPS);
      // Closed and opened again by path, the pool passes its own check.
      const again = Pool.open(file, { readonly: true });
      try {
        expect([...again.list()]).toEqual(['m0', 'm1', 'm2']);
        expect(again.check().problems).toEqual([]);
      } finally {
        again.closeSync();
      }
    } finally {
      rmSync(file, { force: true });
    }
  }, 60_000);
});
