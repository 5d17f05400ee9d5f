import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { SimulatedCrash, StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';
import { Prng, seedFrom } from '../dax/support/prng';
import { strictCrashRun } from './support/strict-run';
import { DEFAULT_WORKLOAD } from './support/workload';

const SEED = seedFrom('PMEMDAX_CRASH_SEED');
const MiB = 1024 * 1024;
/** Simulated crashes a run must verify. */
const CRASHES = 1000;
/** Simulated crashes of the run with readers beside the writer. */
const READER_CRASHES = 1000;
const STEP_KINDS = ['open', 'write', 'append', 'truncate', 'fallocate', 'rename', 'unlink', 'clone', 'dedupe', 'unshare', 'fsync', 'sync', 'remount'];
/** Runs allowed beyond the crash count while some kind of step has not been seen yet. */
const MAX_RUNS = 400;

describe('pool crash consistency under a strict persistence model', () => {
  it(`every crash image opens, passes check and keeps every acknowledged-durable fact (PMEMDAX_CRASH_SEED=${SEED})`, async () => {
    const seeds = new Prng(SEED);
    let crashes = 0;
    let recrashes = 0;
    let replayed = 0;
    let torn = 0;
    let runs = 0;
    let journalFull = 0;
    const kinds = new Map<string, number>();
    const missing = (): string[] => STEP_KINDS.filter((k) => (kinds.get(k) ?? 0) === 0);
    // Run on past the crash count until every kind of step has been taken and every place below reached:
    // a seed whose first runs are all long (no remounts) once ended with full crashes and a coverage
    // failure (seed 2730768820), another with no run whose journal filled before its crash (3513251085).
    const uncovered = (): boolean => missing().length > 0 || replayed === 0 || torn === 0 || recrashes === 0 || journalFull === 0;
    while (crashes < CRASHES || (uncovered() && runs < MAX_RUNS)) {
      // The first run replays SEED itself, so a failing seed printed below can be replayed directly.
      const seed = runs === 0 ? SEED : seeds.int(2 ** 32);
      let r;
      try {
        // Short runs with clean close and reopen, and long runs without, that fill the journal (by seed, so a replay is the same run).
        const long = seed % 2 === 1;
        r = await strictCrashRun({
          seed, ops: long ? 1500 : 160, poolSize: 4 * MiB, journalBytes: 64 * 1024, gap: long ? 12 : 6, recrashEvery: 5,
          workload: { ...DEFAULT_WORKLOAD, maxFile: 128 * 1024, remount: !long },
        });
      } catch (e) {
        console.error(`strict crash run failed; replay with PMEMDAX_CRASH_SEED=${seed}`);
        throw e;
      }
      runs++;
      crashes += r.crashes;
      recrashes += r.recrashes;
      replayed += r.replayed;
      torn += r.tornTails;
      for (const [k, n] of r.kinds) kinds.set(k, (kinds.get(k) ?? 0) + n);
      // Checkpoints beyond the clean closes were made because the journal was full.
      if (r.checkpoints > (r.kinds.get('remount') ?? 0)) journalFull++;
      // Let the test runner's messages through between runs (a run never waits on I/O).
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(crashes).toBeGreaterThanOrEqual(CRASHES);
    // The runs reached the interesting places: recoveries that replayed records, torn commits,
    // crashes during recovery, journals that filled up, and every kind of step.
    expect(replayed).toBeGreaterThan(0);
    expect(torn).toBeGreaterThan(0);
    expect(recrashes).toBeGreaterThan(0);
    expect(journalFull).toBeGreaterThan(0);
    for (const k of STEP_KINDS) expect(kinds.get(k) ?? 0, k).toBeGreaterThan(0);
  }, 180_000);

  it(`with readers beside the writer, every crash image opens, passes check and keeps every acknowledged-durable fact (PMEMDAX_CRASH_SEED=${SEED})`, async () => {
    const seeds = new Prng(SEED ^ 0x2f6b1a3d);
    let crashes = 0;
    let readers = 0;
    let kept = 0;
    let replayed = 0;
    // On past the crash count, as above, until the places asserted below are reached.
    for (let runs = 0; crashes < READER_CRASHES || ((readers === 0 || replayed === 0 || kept === 0) && runs < MAX_RUNS); runs++) {
      const seed = runs === 0 ? SEED : seeds.int(2 ** 32);
      let r;
      try {
        // Remounts (a clean close, a checkpoint) and full journals come while readers hold snapshots.
        r = await strictCrashRun({
          seed, ops: 600, poolSize: 4 * MiB, journalBytes: 64 * 1024, gap: 8, recrashEvery: 5, readers: true,
          workload: { ...DEFAULT_WORKLOAD, maxFile: 96 * 1024, remount: true },
        });
      } catch (e) {
        console.error(`strict crash run with readers failed; replay with PMEMDAX_CRASH_SEED=${SEED} (run seed ${seed})`);
        throw e;
      }
      crashes += r.crashes;
      readers += r.readersOpened;
      replayed += r.replayed;
      kept = Math.max(kept, r.deferredBlocks);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(readers).toBeGreaterThan(0);
    expect(replayed).toBeGreaterThan(0);
    // Crash images held checkpoints that kept blocks for readers' snapshots, and recovered from them.
    expect(kept).toBeGreaterThan(0);
  }, 180_000);

  it('a write to a block whose other owner copied it on write, uncommitted, still copies on write', async () => {
    const d = new StrictMemoryDevice(4 * MiB);
    const pool = Pool.createOn(d);
    const a = pool.open('a', { create: true });
    const b = pool.open('b', { create: true });
    a.writeSync(new Uint8Array(4096).fill(1), 0);
    await a.fsync();
    await a.clone(b, 0, 0, 4096);
    // b copies its block on write; the remap waits for b's fsync, so on the media b still shares a's block.
    b.writeSync(new Uint8Array(10).fill(2), 100);
    a.writeSync(new Uint8Array(4096).fill(3), 0);
    // Only what was fenced survives: b may have lost its own write, never gained a's.
    const after = Pool.openOn(memoryDeviceFromImage(d.crashImage(Math.random, { newest: 0 })));
    const got = new Uint8Array(4096);
    after.open('b', { readonly: true }).readSync(got, 0);
    expect(got[0]).toBe(1);
    expect(got[4095]).toBe(1);
    expect(after.check().ok).toBe(true);
  });

  it('a crash during the first superblock write after a torn backup leaves a valid superblock', () => {
    /** Crash-image choices that take only the first unfenced line new (each line asks twice). */
    const firstLineOnly = (): (() => number) => {
      let calls = 0;
      return () => (calls++ < 2 ? 0 : 0.99);
    };
    const d = new StrictMemoryDevice(4 * MiB);
    Pool.createOn(d).closeSync();
    const pool = Pool.openOn(d);
    // close() writes the primary, then the backup: crash in the backup's write, tearing it.
    d.crashAt(2);
    expect(() => pool.closeSync()).toThrow(SimulatedCrash);
    const torn = d.crashImage(firstLineOnly());
    expect(() => Pool.openOn(memoryDeviceFromImage(torn)).closeSync()).not.toThrow();
    const again = StrictMemoryDevice.fromImage(torn);
    again.crashAt(1);
    expect(() => Pool.openOn(again)).toThrow(SimulatedCrash);
    const after = Pool.openOn(memoryDeviceFromImage(again.crashImage(firstLineOnly())));
    expect(after.check().ok).toBe(true);
  });
});
