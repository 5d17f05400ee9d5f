// The library half of the differential test (test/pool/difftest.pmem.test.ts) on the host: the pool and
// MemFs run the same seeded sequences and must agree on every result. The kernel half needs the guest.
import { afterEach, expect, it } from 'vitest';
import { compareSeed } from './diff/compare';
import { generate, parseSeeds } from './diff/ops';
import { memFsFilesystem, poolFilesystem, runOps } from './diff/targets';
import { scratchDir } from '../support/scratch';

const SEEDS = process.env.PMEMDAX_DIFF_SEEDS ?? '1-200';
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

it(`the pool and MemFs agree on every result, seeds ${SEEDS}`, async () => {
  const s = scratchDir('/dev/shm');
  cleanups.push(s.cleanup);
  const pool = poolFilesystem(s.file('pool'));
  const memfs = memFsFilesystem(s.file('memfs'));
  cleanups.push(() => (pool.close(), memfs.close()));
  const divergences = [];
  for (const seed of parseSeeds(SEEDS)) {
    const ops = generate(seed, 40);
    const p = await runOps(await pool.fresh(), ops);
    const m = await runOps(await memfs.fresh(), ops);
    const outcome = compareSeed('host', seed, ops, p, p, m);
    if (outcome.divergence !== null) divergences.push(outcome.divergence);
  }
  expect(divergences).toEqual([]);
});
