import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PmemdaxError } from '../../lib/errors';
import { MemoryDevice } from '../../lib/testing';
import { Prng, seedFrom } from '../dax/support/prng';
import { CRAFT_CLASSES, craftRename } from './support/craft';
import { DeadlineDevice, cpuMs } from './support/fuzz-device';
import { fuzzBases, pickCorruption, pickCraftedCorruption, pickWholeFileCorruption, runFuzzCase, type FuzzBase, type FuzzOutcome } from './support/fuzz';

const SEED = seedFrom('PMEMDAX_FUZZ_SEED');
/** A third each: bytes in the metadata areas, damage anywhere in the file, crafted metadata with valid checksums. */
const CASES = 2400;
/** A case may take this much CPU time (opening twice, checking, writing and reading a 1 MiB pool takes milliseconds). */
const CASE_MS = 3000;
const PICKERS = [pickCorruption, pickWholeFileCorruption, pickCraftedCorruption] as const;

let basesMade: Promise<FuzzBase[]> | null = null;
const bases = (): Promise<FuzzBase[]> => (basesMade ??= fuzzBases(1024 * 1024, 64 * 1024));

describe('pool metadata fuzzing', () => {
  it(`a damaged pool is refused cleanly, opens read-only with its damage reported, or opens, checks clean and survives writes to every file (PMEMDAX_FUZZ_SEED=${SEED})`, async () => {
    const all = await bases();
    const areas = new Set(all.flatMap((b) => b.ranges.map((r) => r.area)));
    expect([...areas].sort()).toEqual(['backup superblock', 'bitmap', 'journal', 'primary superblock', 'tree']);
    const rng = new Prng(SEED);
    const device = new DeadlineDevice(all[0]?.image.length ?? 0);
    const outcomes = new Map<string, number>();
    const crafted = new Set<string>();
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const base = all[i % all.length];
      const picker = PICKERS[Math.floor(i / all.length) % PICKERS.length];
      if (base === undefined || picker === undefined) throw new Error('no base image');
      const c = picker(rng, base);
      if (c.craft !== undefined) crafted.add(c.craft.name);
      const t0 = cpuMs();
      const outcome = runFuzzCase(device, base, c, CASE_MS, `seed ${SEED}, case ${i}`);
      slowest = Math.max(slowest, cpuMs() - t0);
      const kind = `${picker.name}: ${outcome}`;
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(CASES);
    // Every way out was exercised by every kind of damage that can reach it.
    const seen = (picker: string, outcome: FuzzOutcome): number => outcomes.get(`${picker}: ${outcome}`) ?? 0;
    for (const picker of ['pickCorruption', 'pickWholeFileCorruption']) {
      expect(seen(picker, 'rejected'), picker).toBeGreaterThan(0);
      expect(seen(picker, 'opened'), picker).toBeGreaterThan(0);
    }
    expect(seen('pickCraftedCorruption', 'rejected')).toBeGreaterThan(0);
    expect(seen('pickCraftedCorruption', 'read-only, damage reported')).toBeGreaterThan(0);
    expect(seen('pickCraftedCorruption', 'opened')).toBe(0);
    expect(crafted.size).toBe(CRAFT_CLASSES.length);
    expect(slowest).toBeLessThan(CASE_MS);
  }, 300_000);

  it.each(CRAFT_CLASSES.map((c) => [c.name, c] as const))('crafted with valid checksums: %s', async (_name, craft) => {
    const device = new DeadlineDevice((await bases())[0]?.image.length ?? 0);
    for (const base of await bases()) {
      for (let k = 0; k < 3; k++) {
        const seed = SEED + k;
        const c = { base: base.name, label: `${craft.name} (seed ${seed})`, sealed: false, craft, apply: (d: DeadlineDevice) => craft.apply(d, new Prng(seed)) };
        const outcome = runFuzzCase(device, base, c, CASE_MS, `${craft.name}, seed ${seed}`);
        expect(outcome).toBe(craft.expect.refused ? 'rejected' : 'read-only, damage reported');
      }
    }
  });

  it('two files with one name: read-only opens serve the lower inode and report both, writable opens are refused naming the name', async () => {
    const device = new MemoryDevice(4 * 1024 * 1024);
    const pool = Pool.createOn(device);
    pool.open('a', { create: true }).writeSync(Buffer.from('first'), 0);
    pool.open('b', { create: true }).writeSync(Buffer.from('second!'), 0);
    pool.closeSync();
    craftRename(device, 'b', 'a');
    const ro = Pool.openOn(device, { readonly: true });
    expect([...ro.list()]).toEqual(['a']);
    expect(ro.stat('a').size).toBe(5);
    expect(ro.info.recovery.problems).toEqual([expect.objectContaining({ what: 'duplicate name', where: "name 'a'" })]);
    expect(ro.info.recovery.problems[0]?.message).toMatch(/inodes 1 and 2/);
    const report = ro.check();
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.what)).toEqual(['duplicate name']);
    ro.closeSync();
    let refusal: unknown;
    try {
      Pool.openOn(device);
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(PmemdaxError);
    expect((refusal as PmemdaxError).code).toBe('ERR_PMEMDAX_CORRUPT');
    expect((refusal as PmemdaxError).message).toMatch(/duplicate name at name 'a'.*read-only/);
  });
});
