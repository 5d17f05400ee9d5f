import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng, seedFrom } from '../dax/support/prng';
import { scratchDir } from '../support/scratch';
import { emitExecutor, killRun, type KillResult } from './support/kill-run';
import { DEFAULT_WORKLOAD } from './support/workload';

const SEED = seedFrom('PMEMDAX_KILL_SEED');
/** Pools whose process was killed while it worked on them, per run. */
const KILLS = 200;
/** Children at a time, and pools per child: most of a child's life is its start-up. */
const PARALLEL = 2;
const POOLS = 4;

describe('pool crash consistency across SIGKILL', () => {
  let s: ReturnType<typeof scratchDir>;
  let executor: string;
  beforeAll(() => {
    s = scratchDir('/dev/shm');
    executor = emitExecutor(s.dir);
  });
  afterAll(() => s.cleanup());

  it(`a pool whose process was killed mid-workload opens, passes check and keeps every acknowledged-durable fact (PMEMDAX_KILL_SEED=${SEED})`, async () => {
    const seeds = new Prng(SEED);
    const results: KillResult[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (results.filter((r) => r.killed).length < KILLS) {
        // The first job replays SEED itself (the same plans; the kill lands where the clock says).
        const seed = next++ === 0 ? SEED : seeds.int(2 ** 32);
        try {
          results.push(...await killRun({
            seed, dir: mkdtempSync(join(s.dir, 'job-')), executor, pools: POOLS, steps: 800, poolSize: 4 * 1024 * 1024,
            journalBytes: 64 * 1024, maxSteps: 300, workload: { ...DEFAULT_WORKLOAD, maxFile: 128 * 1024 },
          }));
        } catch (e) {
          console.error(`kill run failed; replay with PMEMDAX_KILL_SEED=${seed}`);
          throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const killed = results.filter((r) => r.killed);
    expect(killed.length).toBeGreaterThanOrEqual(KILLS);
    // Kills landed at different depths of the workload, and recoveries had journal records to replay.
    expect(new Set(killed.map((r) => r.acked)).size).toBeGreaterThan(KILLS / 4);
    expect(killed.some((r) => r.replayed > 0)).toBe(true);
  }, 240_000);
});
