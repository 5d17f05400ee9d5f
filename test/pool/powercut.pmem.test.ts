// After the power cut: fixtures/pool-powercut-writer.cjs ran the seeded pool workload until the host killed
// QEMU. The host passes the seed and the index of the last operation it saw acknowledged; this boot opens
// the pool as the cut left it and replays the workload on byte arrays to know what it must hold.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckReport, Pool as PoolClass } from '../../lib/index';
import { PROJECT_ROOT } from '../support/pmem';

interface WorkloadOp {
  readonly index: number;
  readonly kind: 'create' | 'append' | 'write' | 'truncate' | 'rename' | 'unlink';
  readonly name: string;
  readonly pos?: number;
  readonly data?: Buffer;
}

interface WorkloadModule {
  Workload: new (seed: number) => { readonly files: Map<string, Buffer>; next(): WorkloadOp; apply(op: WorkloadOp): void };
  describe(op: WorkloadOp): string;
}

const load = createRequire(__filename);
const { Workload, describe: describeOp } = load('./fixtures/pool-workload.cjs') as WorkloadModule;
// The build the writer ran (dist/, made by the host before the first boot): the pool is read by the code
// that wrote it, whatever happens to the sources meanwhile.
const { Pool } = load(join(PROJECT_ROOT, 'dist', 'index.js')) as { Pool: typeof PoolClass };
const poolPath = process.env.PMEMDAX_POWERCUT_POOL;
const seedEnv = process.env.PMEMDAX_POWERCUT_POOL_SEED;
const ackedEnv = process.env.PMEMDAX_POWERCUT_POOL_ACKED;
// The writer runs on between the last ack the host saw and the kill: look this far past it.
const RUN_ON_LIMIT = 5000;

type Files = ReadonlyMap<string, Buffer>;

function readAll(pool: PoolClass): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of [...pool.list()]) {
    const f = pool.open(name, { readonly: true });
    try {
      const buf = Buffer.alloc(f.size);
      let done = 0;
      while (done < buf.length) {
        const n = f.readSync(buf.subarray(done), done);
        if (n <= 0) throw new Error(`${name}: read stopped at ${done} of ${buf.length}`);
        done += n;
      }
      out.set(name, buf);
    } finally {
      f.close();
    }
  }
  return out;
}

function sameNames(a: Files, b: Files): boolean {
  return a.size === b.size && [...a.keys()].every((n) => b.has(n));
}

function same(a: Files, b: Files): boolean {
  return sameNames(a, b) && [...a].every(([n, data]) => data.equals(b.get(n) as Buffer));
}

/**
 * The pool holds `before` with `op`, an overwrite, cut short: the size is unchanged (its commit never
 * happened) and each byte it covers is old or new, as stores reach the media in no promised order.
 */
function tornWrite(actual: Files, before: Files, op: WorkloadOp): boolean {
  if (op.kind !== 'write' || op.data === undefined || op.pos === undefined || !sameNames(actual, before)) return false;
  for (const [name, data] of before) {
    const got = actual.get(name) as Buffer;
    if (name !== op.name) {
      if (!got.equals(data)) return false;
      continue;
    }
    if (got.length !== data.length) return false;
    for (let i = 0; i < got.length; i++) {
      const inside = i >= op.pos && i < op.pos + op.data.length;
      if (got[i] !== data[i] && !(inside && got[i] === op.data[i - op.pos])) return false;
    }
  }
  return true;
}

function summary(files: Files): string {
  return [...files].map(([n, d]) => `${n}:${d.length}`).join(' ') || '(no files)';
}

function problems(report: CheckReport): string {
  return report.problems.map((p) => `${p.what} at ${p.where}: ${p.message}`).join('\n');
}

describe.skipIf(poolPath === undefined || seedEnv === undefined || ackedEnv === undefined)('power cut of a pool', () => {
  it('the pool opens, checks clean, and holds every acknowledged operation (the one in flight or not)', () => {
    if (poolPath === undefined) return;
    const acked = Number(ackedEnv);
    const pool = Pool.open(poolPath);
    let actual: Map<string, Buffer>;
    try {
      const { recovery, unsafeShutdown } = pool.info;
      console.log(`pool power cut: ops 0..${acked} acknowledged; recovery ${JSON.stringify(recovery)}`);
      // The writer never closed the pool: opening must know it was not shut down cleanly.
      expect(unsafeShutdown.dirty).toBe(true);
      const report = pool.check();
      expect(report.ok, problems(report)).toBe(true);
      actual = readAll(pool);
    } finally {
      pool.closeSync();
    }

    const work = new Workload(Number(seedEnv));
    for (let i = 0; i <= acked; i++) work.apply(work.next());
    const atAck = new Map(work.files);
    let matched: string | null = null;
    for (let m = acked + 1; m <= acked + 1 + RUN_ON_LIMIT && matched === null; m++) {
      const op = work.next();
      if (same(actual, work.files)) matched = `after op ${m - 1}`;
      else if (tornWrite(actual, work.files, op)) matched = `with op ${describeOp(op)} torn`;
      work.apply(op);
    }
    expect(matched, `the pool (${summary(actual)}) is no state the workload passed through from op ${acked} on (at op ${acked}: ${summary(atAck)})`).not.toBeNull();
    console.log(`pool power cut: the pool holds the state ${matched}`);
  });

  it('a clean close after recovery leaves a pool that opens clean and unchanged', () => {
    if (poolPath === undefined) return;
    const first = Pool.open(poolPath);
    const before = readAll(first);
    first.closeSync();
    const again = Pool.open(poolPath, { readonly: true });
    try {
      expect(again.info.unsafeShutdown.dirty).toBe(false);
      expect(again.info.recovery.replayed).toBe(0);
      const report = again.check();
      expect(report.ok, problems(report)).toBe(true);
      expect(same(readAll(again), before)).toBe(true);
    } finally {
      again.closeSync();
    }
  });
});
