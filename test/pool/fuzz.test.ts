import { describe, expect, it } from 'vitest';
import { Prng, seedFrom } from '../dax/support/prng';
import { DeadlineDevice, cpuMs } from './support/fuzz-device';
import { fuzzBases, pickCorruption, runFuzzCase, type FuzzOutcome } from './support/fuzz';

const SEED = seedFrom('PMEMDAX_FUZZ_SEED');
const CASES = 2000;
/** A case may take this much CPU time (opening, checking and reading a 4 MiB pool takes milliseconds). */
const CASE_MS = 3000;

describe('pool metadata fuzzing', () => {
  it(`a pool with corrupt metadata is refused cleanly or opens and passes check (PMEMDAX_FUZZ_SEED=${SEED})`, async () => {
    const bases = await fuzzBases(4 * 1024 * 1024, 64 * 1024);
    const areas = new Set(bases.flatMap((b) => b.ranges.map((r) => r.area)));
    expect([...areas].sort()).toEqual(['backup superblock', 'checkpoint', 'journal', 'primary superblock']);
    const rng = new Prng(SEED);
    const device = new DeadlineDevice(bases[0]?.image.length ?? 0);
    const outcomes = new Map<FuzzOutcome, number>();
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const base = bases[i % bases.length];
      if (base === undefined) throw new Error('no base image');
      const c = pickCorruption(rng, base);
      const t0 = cpuMs();
      const outcome = runFuzzCase(device, base, c, CASE_MS, `seed ${SEED}, case ${i}`);
      slowest = Math.max(slowest, cpuMs() - t0);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
    }
    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(CASES);
    // Both ways out were exercised: corruption the pool caught, and corruption it could live with.
    expect(outcomes.get('rejected') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('opened') ?? 0).toBeGreaterThan(0);
    expect(slowest).toBeLessThan(CASE_MS);
  }, 300_000);
});
