import { describe, expect, it } from 'vitest';
import { runModel } from './support/model';
import { seedFrom } from './support/prng';

// Replay a failure with: PMEMDAX_MODEL_SEED=<seed> npx vitest run test/dax/model.test.ts
const SEED = seedFrom('PMEMDAX_MODEL_SEED');
const OPS = Number(process.env.PMEMDAX_MODEL_OPS ?? 20_000);

describe('model-based: MemFs over the DAX layer against byte arrays', () => {
  it(`runs ${OPS} random operations with zero divergences (seed ${SEED})`, async () => {
    let counts: Map<string, number>;
    try {
      counts = await runModel(SEED, OPS);
    } catch (e) {
      console.error(`model test failed; replay with PMEMDAX_MODEL_SEED=${SEED}`);
      throw e;
    }
    let total = 0;
    for (const n of counts.values()) total += n;
    expect(total).toBe(OPS);
    for (const op of ['write', 'read', 'zero', 'truncate', 'punch', 'seek', 'fiemap', 'reflink', 'unshare', 'dedupe', 'fault']) {
      expect(counts.get(op) ?? 0).toBeGreaterThan(0);
    }
  }, 60_000);
});
