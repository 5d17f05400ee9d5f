import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedFrom } from '../dax/support/prng';
import { regionBed, REGION_DEVICE, type RegionBed } from './support/region-device';
import { runRegionModel } from './support/region-model';

// Replay a failure with: PMEMDAX_REGION_SEED=<seed> npx vitest run --project native test/vm/region-model.native.test.ts
const SEED = seedFrom('PMEMDAX_REGION_SEED');
const OPS = Number(process.env.PMEMDAX_REGION_OPS ?? 1500);

describe('model-based: regions, raw stores, write(2), fsync, punch, truncate and reflink against byte arrays', () => {
  let bed: RegionBed;
  beforeEach(() => {
    bed = regionBed(16 * 1024 * 1024, REGION_DEVICE);
  });
  afterEach(() => bed.close());

  it(`runs ${OPS} random operations with zero divergences (seed ${SEED})`, async () => {
    const counts = await runRegionModel(bed, SEED, OPS);
    for (const op of ['populate', 'store', 'pwrite', 'fsync', 'punch', 'truncate', 'reflink', 'read']) expect(counts.get(op) ?? 0).toBeGreaterThan(0);
  }, 60_000);

  // Seeds that once diverged: a private region kept zero pages of a split 2 MiB zero mapping after the hole's
  // entry went (and showed zeros over data written there later); a shared page mapped under a 2 MiB entry
  // stayed writable after a punch elsewhere in it removed the entry (and escaped fsync).
  it.each([3604635029, 861895173])('seed %d, which once diverged', async (seed) => {
    await runRegionModel(bed, seed, OPS);
  }, 60_000);
});
