// run.mjs -- `npm run bench:service`: N concurrent async clients in one process doing durable 4 KiB writes,
// synced appends and reads, for the pool, node:fs/promises (write + datasync) and lmdb-js (async put), on
// the disk and on /dev/shm (the pool at granularity cacheline there), every contender and workload in its
// own process, in one run. Reports throughput, latency p50/p99, event-loop delay p99 and max, and event-loop
// utilisation, checks the issue-15 targets, and writes its section of docs/benchmark.md.
//
//   node bench/service/run.mjs [--quick] [--duration MS] [--warmup MS] [--clients N] [--data MIB]
//                              [--contenders pool,fs,lmdb] [--workloads write,append,read,mixed]
//                              [--disk-dir DIR] [--shm-dir DIR] [--no-build] [--no-write] [--doc FILE]
//                              [--attribute]
//
// --attribute runs each pool case on the disk once more, traced with perf (every CPU; root or
// perf_event_paranoid <= 0), and splits its longest pieces into what the pool did and what it did not
// (attribute.mjs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childError } from '../common/child.mjs';
import { MiB } from '../common/data.mjs';
import { writeSection } from '../common/doc.mjs';
import { environmentRows, isTmpfs, markdownPairs, mediumOf } from '../common/env.mjs';
import { attributePiece, canTrace, perfRecordArgs, readTrace } from './attribute.mjs';
import { targetRows } from './targets.mjs';
import { attributionTable, resultTable } from './table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    clients: { type: 'string', default: '32' },
    data: { type: 'string' },
    contenders: { type: 'string', default: 'pool,fs,lmdb' },
    workloads: { type: 'string', default: 'write,append,read,mixed' },
    'disk-dir': { type: 'string', default: os.tmpdir() },
    'shm-dir': { type: 'string', default: '/dev/shm' },
    'no-build': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    doc: { type: 'string', default: join(root, 'docs/benchmark.md') },
    attribute: { type: 'boolean', default: false },
  },
});
const quick = args.quick;
const config = {
  clients: Number(args.clients),
  durationMs: Number(args.duration ?? (quick ? 500 : 5000)),
  warmupMs: Number(args.warmup ?? (quick ? 100 : 1000)),
  dataBytes: Number(args.data ?? (quick ? 16 : 64)) * MiB,
  logCap: 128 * MiB,
  maxOps: 2_000_000,
  seed: 42,
};
const contenders = args.contenders.split(',');
const workloads = args.workloads.split(',');
const media = [
  { id: 'disk', dir: resolve(args['disk-dir']), env: {} },
  // tmpfs has no MAP_SYNC, so the pool would persist by page; forcing cacheline measures the pmem flush path.
  { id: 'shm', dir: resolve(args['shm-dir']), env: { PMEMDAX_FORCE_GRANULARITY: 'cacheline' } },
];
const log = (m) => process.stderr.write(`bench:service: ${m}\n`);
if (isTmpfs(media[0].dir)) log(`warning: ${media[0].dir} is tmpfs; pass --disk-dir with a directory on a disk`);
if (!isTmpfs(media[1].dir)) log(`warning: ${media[1].dir} is not tmpfs`);

const attribute = args.attribute && canTrace();
if (args.attribute && !attribute) log('--attribute: perf cannot trace every CPU here (install perf; run as root or lower perf_event_paranoid); going on without');

if (!args['no-build']) {
  const r = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    log('npm run build:ts failed (or pass --no-build to use dist/ as it is)');
    process.exit(1);
  }
}

/**
 * One case in a fresh process, on a fresh directory of its medium; a failure is recorded, not thrown.
 * With `trace`, under perf, and the result gains `attribution` (the longest pieces, split).
 */
function runCase(medium, contender, workload, env = {}, trace = false) {
  const dir = mkdtempSync(join(medium.dir, 'pmemdax-bench-service-'));
  // The trace goes to memory: written to the disk it would compete with the case it traces.
  const traceDir = trace ? mkdtempSync(join(media[1].dir, 'pmemdax-bench-trace-')) : null;
  const perfData = join(traceDir ?? dir, 'perf.data');
  try {
    const spec = { ...config, contender, workload, dir: join(dir, 'case') };
    const node = [process.execPath, join(here, 'case.mjs'), JSON.stringify(spec)];
    const [cmd, ...argv] = trace ? ['perf', ...perfRecordArgs(perfData), ...node] : node;
    const r = spawnSync(cmd, argv, {
      cwd: root,
      env: { ...process.env, ...medium.env, ...env },
      encoding: 'utf8',
      maxBuffer: 64 * MiB,
    });
    if (r.status !== 0) return { error: childError(r) };
    const result = JSON.parse(r.stdout.trim().split('\n').pop());
    if (trace) {
      try {
        result.attribution = attribution(result, readTrace(perfData, result.pid));
      } catch (e) {
        result.attribution = { error: e instanceof Error ? e.message : String(e) };
      }
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (traceDir !== null) rmSync(traceDir, { recursive: true, force: true });
  }
}

/**
 * The kept longest pieces of a traced run, each split (attribute.mjs), the most attributable first; `complete`
 * when every piece of 1 ms or more was kept: the shortest piece kept is shorter than that.
 */
function attribution(result, trace) {
  const off = result.monoOffsetMs;
  const kept = result.longestHolds;
  const pieces = kept
    .map((p) => ({ what: p.what, ...attributePiece(trace, p.startMs + off, p.startMs + off + p.wallMs) }))
    .sort((a, b) => b.attributable - a.attributable);
  const last = kept[kept.length - 1];
  return { pieces, lost: trace.lost, complete: last === undefined || last.wallMs < 1 };
}

/** results[medium][workload][contender] */
const results = {};
for (const medium of media) {
  results[medium.id] = {};
  for (const workload of workloads) {
    results[medium.id][workload] = {};
    for (const contender of contenders) {
      log(`${medium.id} ${workload} ${contender}`);
      const r = runCase(medium, contender, workload);
      if (contender === 'pool' && medium.id === 'disk' && r.error === undefined) {
        // The busy hold clock reads schedstat twice per piece, which slows the fast paths: a run of its own,
        // of which only the hold is reported.
        log(`${medium.id} ${workload} ${contender} (busy hold clock)`);
        const busy = runCase(medium, contender, workload, { PMEMDAX_HOLD_CLOCK: 'busy' });
        r.longestHoldBusyMs = busy.error === undefined ? busy.longestHoldBusyMs : null;
        if (attribute) {
          log(`${medium.id} ${workload} ${contender} (traced)`);
          const traced = runCase(medium, contender, workload, {}, true);
          r.attribution = traced.attribution ?? { error: traced.error ?? 'no attribution' };
        }
      }
      results[medium.id][workload][contender] = r;
    }
  }
}

const body = [
  '## Service benchmark (`npm run bench:service`)',
  '',
  `${config.clients} concurrent async clients in one process, 4 KiB operations: durable overwrites at random ` +
    `slots of a ${config.dataBytes / MiB} MiB data set, durable appends to a log, reads at random slots, and a ` +
    'mix of the three. Every contender and workload ran in its own process; event-loop delay is ' +
    '`monitorEventLoopDelay` at 1 ms resolution over the measured phase (a contender whose calls never ' +
    'yield to the loop holds it for the whole phase, and shows the phase\'s length). On /dev/shm the pool runs at ' +
    'granularity `cacheline` (`PMEMDAX_FORCE_GRANULARITY`). "loop thread waiting for a CPU" is the share of the ' +
    'phase the event loop\'s thread was runnable with no CPU to run on (Linux schedstat). "longest pool hold ' +
    '(wall)" is `pool.stats().longestHoldMs`; "(busy)" comes from a second run of the same case with ' +
    '`PMEMDAX_HOLD_CLOCK=busy` (each piece less the time its thread waited for a CPU; that clock slows the ' +
    'fast paths, so only its hold is reported), on the disk only.',
  '',
  markdownPairs(environmentRows([
    ['disk', `${media[0].dir}: ${mediumOf(media[0].dir)}`],
    ['shm', `${media[1].dir}: ${mediumOf(media[1].dir)}`],
    ['measured', `${config.durationMs} ms per case after ${config.warmupMs} ms of warm-up`],
  ])),
  '',
  ...media.flatMap((m) => [`### ${m.id === 'disk' ? 'Disk' : '/dev/shm'}`, '', resultTable(results[m.id], workloads, contenders), '']),
  ...(attribute
    ? [
        '### The longest pool pieces on the disk, attributed (`--attribute`)',
        '',
        'Each pool case on the disk ran a third time under `perf record -a` (every context switch and wake-up, and a ' +
          'CPU-clock sample 4,000 times a second per CPU), and each of the 128 longest pieces of its measured phase ' +
          '(`pool.stats().longestHolds`, by wall time) is split: *waiting* (runnable, off the CPU), *blocked* (asleep ' +
          'in the kernel: a system call, a page fault, a lock), *frozen* (on the CPU by the guest\'s account while ' +
          'no CPU of the machine took a sample for over two of its sampling periods: the VM was not running), and ' +
          '*running* (the rest, garbage collections included). Attributable to the pool = blocked + running; a piece ' +
          'the trace contradicts (the thread off the CPU at its start or end, a switch out of order, a sample while ' +
          'off the CPU, a CPU with no sample near it) counts whole.',
        '',
        attributionTable(results.disk, workloads),
        '',
      ]
    : []),
  '### Targets (issue 15)',
  '',
  targetRows(results, workloads),
].join('\n');

process.stdout.write(`${body}\n`);
if (!args['no-write']) writeSection(resolve(args.doc), 'service', body);
