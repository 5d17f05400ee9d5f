// The differential test (docs/testing.md): seeded sequences of file operations run on the kernel's
// ext4-dax or xfs-dax through test/pool/fixtures/diff-exec.c, on a pool file on the same medium and
// on a MemFs file, compared op by op: return value or errno, size, bytes read or loaded, SEEK_DATA
// and SEEK_HOLE, and the page of every SIGBUS. PMEMDAX_DIFF_SEEDS picks the seeds ("first-last", or
// one seed to replay it), PMEMDAX_DIFF_OPS the length of a sequence.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareSeed, type Divergence } from './diff/compare';
import { buildExecutor, kernelResults } from './diff/kernel';
import { generate, parseSeeds } from './diff/ops';
import { memFsFilesystem, poolFilesystem, runOps } from './diff/targets';
import { pmemMedium } from '../support/pmem';

const medium = pmemMedium;
const SEEDS = process.env.PMEMDAX_DIFF_SEEDS ?? '1-50';
const OPS = Number(process.env.PMEMDAX_DIFF_OPS ?? 30);

describe.skipIf(medium === null || !medium.devdax)('differential test against the kernel', () => {
  it(`skipped on ${medium?.name ?? 'device-dax'}: device-dax has no file operations to compare`, { skip: true }, () => {});
});

describe.skipIf(medium === null || medium.devdax)('differential test against the kernel', () => {
  if (medium === null) return;
  const seeds = parseSeeds(SEEDS);

  it(`${medium.name}: seeds ${SEEDS}, ${OPS} operations each, match the kernel`, { timeout: 120_000 + seeds.length * 10_000 }, async () => {
    const dir = mkdtempSync(join(medium.path, 'difftest-'));
    const shm = mkdtempSync(join(tmpdir(), 'difftest-'));
    const started = Date.now();
    const sequences = seeds.map((s) => generate(s, OPS));
    const kernel = await kernelResults(buildExecutor(shm), join(dir, 'kernel'), sequences);
    const pool = poolFilesystem(join(dir, 'pool'));
    const memfs = memFsFilesystem(join(shm, 'memfs'));
    const divergences: Divergence[] = [];
    const allowed = new Map<string, number>();
    try {
      for (const [i, ops] of sequences.entries()) {
        // The pool's operations are mostly synchronous: let vitest's worker answer its runner between seeds.
        await new Promise((resolve) => setImmediate(resolve));
        const p = await runOps(await pool.fresh(), ops);
        const m = await runOps(await memfs.fresh(), ops);
        const outcome = compareSeed(medium.name, seeds[i] as number, ops, kernel[i] as string[], p, m);
        if (outcome.divergence !== null) divergences.push(outcome.divergence);
        for (const id of outcome.allowed) allowed.set(id, (allowed.get(id) ?? 0) + 1);
      }
    } finally {
      pool.close();
      memfs.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(shm, { recursive: true, force: true });
    }
    const tally = [...allowed].map(([id, n]) => `${id} ×${n}`).join(', ') || 'none';
    console.log(`difftest ${medium.name}: seeds ${SEEDS} (${seeds.length}), ${OPS} ops each, ${Date.now() - started} ms; documented deviations met: ${tally}`);
    for (const d of divergences) {
      console.log(`seed ${d.seed} op ${d.index} "${d.op}": kernel "${d.kernel}", pool "${d.pool}", MemFs "${d.memfs}"\n  ${d.prefix}`);
    }
    expect(divergences.map((d) => `seed ${d.seed} op ${d.index} ${d.op}`)).toEqual([]);
  });
});
