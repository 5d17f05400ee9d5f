import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { Pool } from '../../../lib';
import { Prng } from '../../dax/support/prng';
import { PROJECT_ROOT } from '../../support/scratch';
import type { Op } from './executor';
import { Model } from './model';
import { verifyAgainstModel } from './verify';
import { DEFAULT_WORKLOAD, Workload, type WorkloadOptions } from './workload';

/**
 * planWorkload -- `n` steps decided in advance against a model of the pool as the contract says it
 * behaves (the child runs them blind; inode numbers are learnt from its acknowledgements).
 */
export function planWorkload(seed: number, n: number, opts: WorkloadOptions = DEFAULT_WORKLOAD): Op[] {
  const model = new Model({ durability: false });
  const work = new Workload(new Prng(seed), opts);
  const plan: Op[] = [];
  for (let i = 0; i < n; i++) {
    const op = work.next(model);
    model.begin(op);
    model.end(op, -1);
    plan.push(op);
  }
  return plan;
}

/**
 * Write the executor, transpiled to CommonJS, into `dir`: the child loads the library from dist/
 * (as an application does) and the executor from here. Returns its path.
 */
export function emitExecutor(dir: string): string {
  const src = readFileSync(join(__dirname, 'executor.ts'), 'utf8');
  const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const path = join(dir, 'executor.cjs');
  writeFileSync(path, out.outputText);
  return path;
}

/**
 * The child: read the plans from stdin (the parent plans while the child starts), create one pool
 * per plan, say `ready`, then run the plans in turn, a step of each at a time, acknowledging each
 * step on stdout as `<pool> <step> <result>`. One kill then interrupts every pool at its own step.
 */
function childScript(executor: string): string {
  return `
    const fs = require('node:fs');
    const { Pool } = require(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'index.js'))});
    const { Executor } = require(${JSON.stringify(executor)});
    const [dir, size, journalBytes] = process.argv.slice(1);
    const plans = JSON.parse(fs.readFileSync(0, 'utf8'));
    (async () => {
      const execs = plans.map((_, p) => {
        const path = dir + '/pool-' + p;
        return new Executor(Pool.create(path, { size: Number(size), journalBytes: Number(journalBytes) }), () => Pool.open(path));
      });
      fs.writeSync(1, 'ready\\n');
      for (let i = 0; i < plans[0].length; i++) {
        for (let p = 0; p < plans.length; p++) {
          const r = await execs[p].run(plans[p][i]);
          fs.writeSync(1, p + ' ' + i + ' ' + r + '\\n');
        }
      }
      fs.writeSync(1, 'done\\n');
    })().catch((e) => { fs.writeSync(2, String(e && e.stack || e)); process.exit(3); });`;
}

export interface KillJob {
  readonly seed: number;
  /** An empty directory for this job's pool files. */
  readonly dir: string;
  readonly executor: string;
  /** Pools the child works on (each one a kill). */
  readonly pools: number;
  readonly steps: number;
  readonly poolSize: number;
  readonly journalBytes: number;
  /**
   * The kill comes after a random number of acknowledged steps, fewer than this many per pool (then up to
   * 2 ms more, so that it lands inside a step): counted in steps, not time, so that kills reach every depth
   * on a slow machine (the sanitizer's build) as on a fast one.
   */
  readonly maxSteps: number;
  readonly workload?: WorkloadOptions;
}

export interface KillResult {
  /** The child was killed while running its plan (not after it finished). */
  readonly killed: boolean;
  readonly acked: number;
  readonly replayed: number;
}

interface ChildOutcome {
  readonly plans: Op[][];
  /** Per pool, the result each acknowledged step returned. */
  readonly acks: number[][];
  readonly done: boolean;
  readonly killed: boolean;
  readonly stderr: string;
  readonly code: number | null;
}

/** Start the child, plan while it starts, and run it until it is killed (or finishes), collecting its acknowledgements. */
function runChild(job: KillJob, rng: Prng): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', childScript(job.executor), '--', job.dir, String(job.poolSize), String(job.journalBytes)], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const plans = Array.from({ length: job.pools }, () => planWorkload(rng.int(2 ** 32), job.steps, job.workload));
    const killAfter = rng.int(job.maxSteps * job.pools);
    const lag = rng.int(3);
    child.stdin.end(JSON.stringify(plans));
    const acks: number[][] = plans.map(() => []);
    let done = false;
    let killed = false;
    let stderr = '';
    let rest = '';
    let acked = 0;
    const killSoon = (): void => {
      setTimeout(() => {
        killed = child.exitCode === null && child.kill('SIGKILL');
      }, lag);
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr += s;
    });
    child.stdout.on('data', (s: string) => {
      const lines = (rest + s).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') {
          if (killAfter === 0) killSoon();
        } else if (line === 'done') {
          done = true;
        } else {
          const m = /^(\d+) (\d+) (-?\d+)$/.exec(line);
          const a = m === null ? undefined : acks[Number(m[1])];
          if (m === null || a === undefined) reject(new Error(`seed ${job.seed}: child said ${JSON.stringify(line)}`));
          else {
            a[Number(m[2])] = Number(m[3]);
            if (++acked === killAfter) killSoon();
          }
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ plans, acks, done, killed: killed && !done, stderr, code }));
  });
}

/** Open pool `p` of a killed child and verify it against the steps it acknowledged. */
function verifyPool(job: KillJob, r: ChildOutcome, p: number): KillResult {
  const plan = r.plans[p] ?? [];
  const acks = r.acks[p] ?? [];
  const model = new Model();
  let acked = 0;
  while (acked < plan.length && acks[acked] !== undefined) {
    const op = plan[acked] as Op;
    model.begin(op);
    model.end(op, acks[acked] as number);
    acked++;
  }
  if (acked < plan.length) model.begin(plan[acked] as Op);
  const pool = Pool.open(join(job.dir, `pool-${p}`));
  try {
    const step = acked < plan.length ? `step ${acked} ${JSON.stringify(plan[acked])} in flight` : 'after the last step';
    verifyAgainstModel(pool, model, `kill seed ${job.seed}, pool ${p}, ${step}`);
    return { killed: r.killed, acked, replayed: pool.info.recovery.replayed };
  } finally {
    pool.closeSync();
  }
}

/**
 * killRun -- one child process runs planned workloads on fresh pool files and is SIGKILLed at a
 * random moment; each pool is then opened, checked and verified against the model of the steps the
 * child acknowledged on it, with its next step in flight.
 */
export async function killRun(job: KillJob): Promise<KillResult[]> {
  try {
    const r = await runChild(job, new Prng(job.seed));
    if (!r.killed && !r.done) throw new Error(`seed ${job.seed}: the child exited with ${r.code} before it was killed: ${r.stderr}`);
    return r.plans.map((_, p) => verifyPool(job, r, p));
  } finally {
    rmSync(job.dir, { recursive: true, force: true });
  }
}
