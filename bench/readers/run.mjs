// run.mjs -- `npm run bench:readers`: a writer's throughput on a pool with 0 and 8 reader processes
// refreshing their snapshots, against the same writer on a build from before readers (`--before REV`,
// built in a worktree), in one run; each writer and reader its own process, the pool on /dev/shm with the
// granularity forced to cacheline. Writes its section of docs/benchmark.md.
//
//   node bench/readers/run.mjs [--seconds S] [--readers N] [--before REV] [--rounds R] [--no-write] [--doc FILE]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childError } from '../common/child.mjs';
import { writeSection } from '../common/doc.mjs';
import { environmentRows, markdownPairs } from '../common/env.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    readers: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    before: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    doc: { type: 'string', default: join(root, 'docs/benchmark.md') },
  },
});
const ms = Number(args.seconds) * 1000;
const readerCount = Number(args.readers);
const rounds = Number(args.rounds);
const env = { ...process.env, PMEMDAX_FORCE_GRANULARITY: 'cacheline' };
const dist = join(root, 'dist/index.js');

/** The dist of revision `rev`, built (TypeScript and addon) in a worktree of its own under the OS temp dir. */
function buildBefore(rev) {
  const dir = join(os.tmpdir(), `pmemdax-before-${rev}`);
  if (!existsSync(join(dir, 'dist/index.js'))) {
    rmSync(dir, { recursive: true, force: true });
    execFileSync('git', ['worktree', 'add', '--detach', dir, rev], { cwd: root, stdio: 'inherit' });
    execFileSync('ln', ['-s', join(root, 'node_modules'), join(dir, 'node_modules')]);
    execFileSync('npx', ['node-gyp', 'rebuild'], { cwd: dir, stdio: 'inherit' });
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  }
  return join(dir, 'dist/index.js');
}

function freshPool(build) {
  const dir = mkdtempSync('/dev/shm/pmemdax-readers-');
  const path = join(dir, 'pool');
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(build)}).Pool.create(${JSON.stringify(path)}, { size: 2 * 1024 * 1024 * 1024 }).closeSync()`], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(childError(r));
  return { dir, path };
}

/** The spinning neighbour: ready, and (as a reader's last line) no refreshes, then a loop until SIGTERM kills it. */
const SPINNER = "console.log('ready'); console.log(JSON.stringify({ refreshes: 0, meanUs: 0, cpus: 1 })); for (;;);";

/**
 * One writer run of `workload` with `readers` reader processes (pace `paceMs`) on a fresh pool; `spin`: instead,
 * one process that only spins beside the writer (no pool), what any busy neighbour on this machine costs it.
 */
async function run(build, workload, readers, paceMs, spin = false) {
  const { dir, path } = freshPool(build);
  try {
    const children = spin
      ? [spawn(process.execPath, ['-e', SPINNER], { env, stdio: ['ignore', 'pipe', 'pipe'] })]
      : Array.from({ length: readers }, () => spawn(process.execPath, [join(here, 'reader.mjs'), build, path, String(paceMs)], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const outputs = children.map((c) => {
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      // 'close', not 'exit': the last of its output may still be on the way when the process exits.
      return new Promise((resolveOut) => c.once('close', () => resolveOut(out)));
    });
    // Every reader holds its snapshot before the writer starts.
    await Promise.all(children.map((c) => new Promise((ready) => c.stdout.once('data', ready))));
    const w = spawnSync(process.execPath, [join(here, 'writer.mjs'), build, path, workload, String(ms)], { env, encoding: 'utf8' });
    for (const c of children) c.kill('SIGTERM');
    const texts = await Promise.all(outputs);
    if (w.status !== 0) throw new Error(`writer: ${childError(w)}`);
    const { ops, seconds, faults } = JSON.parse(w.stdout);
    const reads = texts.map((t) => JSON.parse(t.trim().split('\n').pop()));
    const refreshes = reads.reduce((a, r) => a + r.refreshes, 0);
    const meanUs = reads.length === 0 ? 0 : reads.reduce((a, r) => a + r.meanUs * r.refreshes, 0) / Math.max(1, refreshes);
    const readerCpus = reads.reduce((a, r) => a + r.cpus, 0);
    return { opsPerSec: ops / seconds, refreshesPerSec: refreshes / seconds, meanUs, readerCpus, faultsPerOp: faults / ops };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cases = [];
const before = args.before === undefined ? null : buildBefore(args.before);
for (const workload of ['files', 'append', 'overwrite']) {
  const contenders = [
    ...(before === null ? [] : [{ name: `before (${args.before}), 0 readers`, build: before, readers: 0, pace: 0 }]),
    { name: 'this build, 0 readers', build: dist, readers: 0, pace: 0 },
    { name: 'this build, 0 readers, a process spinning beside it (no pool)', build: dist, readers: 0, pace: 0, spin: true },
    { name: `this build, ${readerCount} readers refreshing back to back`, build: dist, readers: readerCount, pace: 0 },
    { name: `this build, ${readerCount} readers refreshing every 10 ms`, build: dist, readers: readerCount, pace: 10 },
    { name: `this build, ${readerCount} readers refreshing every 100 ms`, build: dist, readers: readerCount, pace: 100 },
  ];
  const results = contenders.map(() => []);
  // Rounds interleave the contenders, so that a slow stretch of the machine falls on all of them.
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < contenders.length; c++) {
      const { build, readers, pace, spin } = contenders[c];
      results[c].push(await run(build, workload, readers, pace, spin));
    }
  }
  const base = median(results[before === null ? 0 : 1].map((x) => x.opsPerSec));
  contenders.forEach((c, i) => {
    const of = (key) => median(results[i].map((x) => x[key]));
    const ops = of('opsPerSec');
    cases.push({ workload, name: c.name, ops, ratio: ops / base, refreshes: of('refreshesPerSec'), meanUs: of('meanUs'), readerCpus: of('readerCpus'), faultsPerOp: of('faultsPerOp') });
  });
}

const table = [
  '| workload | writer | writer ops/s | vs this build, 0 readers | refreshes/s (all readers) | mean refresh | CPUs the readers kept busy | writer page faults per 1,000 ops |',
  '|---|---|---|---|---|---|---|---|',
  ...cases.map(
    (c) =>
      `| ${c.workload} | ${c.name} | ${Math.round(c.ops).toLocaleString('en-US')} | ${c.ratio.toFixed(2)}× | ${c.refreshes === 0 ? '—' : Math.round(c.refreshes).toLocaleString('en-US')} | ${c.meanUs === 0 ? '—' : `${c.meanUs.toFixed(1)} µs`} | ${c.readerCpus === 0 ? '—' : c.readerCpus.toFixed(2)} | ${(c.faultsPerOp * 1000).toFixed(0)} |`,
  ),
].join('\n');
const body = `## Readers beside the writer (\`npm run bench:readers\`)

${markdownPairs(environmentRows([['pool', '/dev/shm, 2 GiB, granularity cacheline'], ['run', `${args.seconds} s per writer run, median of ${rounds} rounds (interleaved)`]]))}

Workloads: **files** — create, one synced 4 KiB write, close, and the unlink of the file made 256 operations
before (every operation frees blocks, which a writer defers while readers hold older snapshots); **append** —
a synced 4 KiB append to one file; **overwrite** — a synced 4 KiB overwrite at a random block of a 64 MiB
file (in place with no reader; copied on write while readers hold snapshots). Readers are separate processes that hold a snapshot and call
\`pool.refresh()\` in a loop. The row with a spinning process is a baseline of the machine: a process that
only burns CPU beside the writer (an empty loop), what any busy neighbour
costs the writer here, readers or not. *CPUs the readers kept busy*: the readers' CPU time (user and system,
from their first refresh to their last) over that time, summed: the share of the machine's 2 CPUs they took
from the writer. *Writer page faults*: the writer's minor faults in its timed part, a fault for each pool
page its process touches first (on /dev/shm a page of 4 KiB).

${table}`;
console.log(table);
if (!args['no-write']) writeSection(args.doc, 'bench:readers', body);
