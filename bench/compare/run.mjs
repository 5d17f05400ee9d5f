// run.mjs -- `npm run bench:compare`: pmemdax against what a Node server would pick instead (fs with
// fdatasync, lmdb-js), each contender in its own process per workload on the same data, on the disk and on
// /dev/shm. Prints a markdown table and writes it, with an SVG plot, to docs/benchmark.md.
//
//   node bench/compare/run.mjs [--quick] [--budget MS] [--only a,b] [--workloads w1,w2]
//                              [--disk-dir DIR] [--shm-dir DIR] [--no-build] [--no-write] [--doc FILE]
//                              [--plan host|guest] [--json FILE] [--before REV]
// --before REV: the pool contenders run a second time from commit REV's build (before.mjs), and a table
// compares the two (the performance work's before and after, in one run).
// --plan guest: the pmem guest's contenders and scale (plan.mjs), for bench/compare/guest.mjs; it never
// writes the doc. --json writes the results as JSON (json.mjs) as well.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GiB, MiB } from '../common/data.mjs';
import { LMDB_SMALL_KEYS, RECORD_SIZES, SEQ_SIZE } from './data.mjs';
import { writeSection } from '../common/doc.mjs';
import { environmentRows, isTmpfs, markdownPairs, mediumOf } from '../common/env.mjs';
import { linePlot } from './svg.mjs';
import { childError } from '../common/child.mjs';
import { formatNs, formatRate, formatRatio, formatSize, median } from '../common/stats.mjs';
import { CONTENDERS, GUEST_CONTENDERS, GUEST_SCALE, TARGETS, makeWorkloads } from './plan.mjs';
import { runJson } from './json.mjs';
import { buildRevision } from './before.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const svgName = 'benchmark-compare.svg';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    budget: { type: 'string' },
    only: { type: 'string' },
    workloads: { type: 'string' },
    'disk-dir': { type: 'string', default: os.tmpdir() },
    'shm-dir': { type: 'string', default: '/dev/shm' },
    'no-build': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    doc: { type: 'string', default: join(root, 'docs/benchmark.md') },
    plan: { type: 'string', default: 'host' },
    json: { type: 'string' },
    before: { type: 'string' },
  },
});
const docPath = resolve(args.doc);

const quick = args.quick;
const config = {
  dataBytes: quick ? 64 * MiB : GiB,
  budgetMs: Number(args.budget ?? (quick ? 150 : 1000)),
  warmupMs: quick ? 50 : 200,
  appendBytes: quick ? 16 * MiB : 256 * MiB,
  maxOps: 1_000_000,
  records: quick ? 100_000 : 1_000_000,
  recordSize: 64,
  batch: 1024,
  reopens: quick ? 3 : 5,
  clients: 4,
  seed: 42,
  ...(args.plan === 'guest' ? GUEST_SCALE : {}),
};
const dirs = { disk: resolve(args['disk-dir']), shm: resolve(args['shm-dir']) };

function fail(message) {
  process.stderr.write(`bench:compare: ${message}\n`);
  process.exit(1);
}

if (isTmpfs(dirs.disk)) fail(`${dirs.disk} is tmpfs; pass --disk-dir with a directory on a disk`);
if (!['host', 'guest'].includes(args.plan)) fail(`unknown plan ${args.plan} (host or guest)`);
const guest = args.plan === 'guest';

const only = args.only?.split(',');
const chosenContenders = (guest ? GUEST_CONTENDERS : CONTENDERS).filter((c) => !only || only.includes(c.id));
// --before REV: each pool contender also runs from that commit's build, right after the current one
// (`beforeOf` names the current one).
const before = args.before ? buildRevision(root, args.before) : null;
const contenders = chosenContenders.flatMap((c) =>
  before && c.module === 'pool'
    ? [c, { ...c, id: `${c.id}@before`, beforeOf: c.id, label: `pmemdax pool @${before.short}`, env: { ...c.env, PMEMDAX_BENCH_LIB: before.lib } }]
    : [c],
);
const current = contenders.filter((c) => !c.beforeOf);
const onShm = contenders.some((c) => c.medium === 'shm');
if (onShm && !isTmpfs(dirs.shm)) fail(`${dirs.shm} is not tmpfs`);
const chosen = args.workloads?.split(',');
const workloads = makeWorkloads(config.records).filter((w) => !chosen || chosen.includes(w.id));

function build() {
  if (args['no-build']) return;
  const r = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail('npm run build:ts failed (or pass --no-build to use dist/ as it is)');
}

/** Why a contender cannot run here, or null. */
function unavailable(c) {
  if (c.module === 'pool' && !existsSync(join(root, 'dist/pool/pool.js'))) return 'the pool is not built (dist/pool/pool.js)';
  if (c.module === 'lmdb') {
    const r = spawnSync(process.execPath, ['-e', "require('lmdb')"], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) return `lmdb does not load: ${r.stderr.trim().split('\n')[0]}`;
  }
  return null;
}

function child(c, spec) {
  const env = { ...process.env, ...c.env };
  if (!c.env.PMEMDAX_FORCE_GRANULARITY) delete env.PMEMDAX_FORCE_GRANULARITY;
  const r = spawnSync(process.execPath, [join(here, 'case.mjs'), JSON.stringify({ contender: c.module, ...spec })], {
    cwd: root,
    env,
    encoding: 'utf8',
    maxBuffer: 16 * MiB,
  });
  if (r.status !== 0) {
    throw new Error(childError(r));
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function memcpyBandwidth() {
  if (!onShm) return { error: 'not measured (no contender on /dev/shm)' };
  const binary = join(os.tmpdir(), `pmemdax-bench-memcpy-${process.getuid?.() ?? 0}`);
  const source = join(here, 'memcpy.c');
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    const r = spawnSync(process.env.CC ?? 'cc', ['-O2', '-o', binary, source], { stdio: 'inherit' });
    if (r.status !== 0) return { error: 'no C compiler to build bench/compare/memcpy.c' };
  }
  const file = join(dirs.shm, `pmemdax-memcpy-${process.pid}`);
  const out = execFileSync(binary, [file, String(config.dataBytes), String(Math.max(300, config.budgetMs))], { encoding: 'utf8' });
  return JSON.parse(out);
}

const log = (m) => process.stderr.write(`bench:compare: ${m}\n`);

/** Every case of one contender, in one scratch directory that is removed afterwards. */
function runContender(c) {
  const res = { id: c.id, contender: c, results: new Map(), errors: [], info: null, describe: null };
  const why = unavailable(c);
  if (why) {
    res.skipped = why;
    log(`${c.id}: skipped, ${why}`);
    return res;
  }
  const dir = mkdtempSync(join(dirs[c.medium], `pmemdax-compare-${c.id}-`));
  const base = { dir, dataBytes: config.dataBytes, seed: config.seed };
  try {
    const prep = child(c, { ...base, step: 'prepare' });
    res.describe = prep.describe;
    res.prepareMs = prep.ms;
    log(`${c.id}: prepared ${formatSize(config.dataBytes)} in ${(prep.ms / 1000).toFixed(1)} s`);
    for (const w of workloads) {
      try {
        if (w.kind === 'reopen') {
          const fill = child(c, { ...base, step: 'fill', records: config.records, recordSize: config.recordSize, batch: config.batch });
          const times = [];
          for (let k = 0; k < config.reopens; k++) {
            times.push(child(c, { ...base, step: 'reopen', records: config.records, recordSize: config.recordSize }).ns);
          }
          const sorted = Float64Array.from(times).sort();
          res.results.set(w.id, { n: times.length, median: median(times), p99: sorted[sorted.length - 1], opsPerSec: 1e9 / median(times), fillMs: fill.ms });
        } else {
          const r = child(c, {
            ...base,
            step: 'measure',
            workload: w.kind,
            size: w.size,
            warmupMs: config.warmupMs,
            budgetMs: config.budgetMs,
            maxOps: config.maxOps,
            appendBytes: config.appendBytes,
            clients: config.clients,
          });
          res.info = r.info;
          res.results.set(w.id, r);
        }
        const r = res.results.get(w.id);
        log(`${c.id} ${w.id}: median ${formatNs(r.median)}, p99 ${formatNs(r.p99)}, ${formatRate(r.opsPerSec)} ops/s`);
      } catch (error) {
        res.errors.push(`${w.id}: ${error.message}`);
        res.results.set(w.id, { error: error.message });
        log(`${c.id} ${w.id}: failed, ${error.message}`);
      }
    }
  } catch (error) {
    res.skipped = `preparing the data failed: ${error.message}`;
    log(`${c.id}: ${res.skipped}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (c.expectGranularity && res.info && res.info.granularity !== c.expectGranularity) {
    res.skipped = `ran at granularity ${res.info.granularity}, not ${c.expectGranularity}`;
  }
  return res;
}

build();
const started = Date.now();
const loadBefore = os.loadavg()[0];
const memcpyBefore = memcpyBandwidth();
const runs = new Map(contenders.map((c) => [c.id, runContender(c)]));
const memcpyAfter = memcpyBandwidth();
const loadAfter = os.loadavg()[0];
const seconds = (Date.now() - started) / 1000;
const memcpyRuns = [memcpyBefore, memcpyAfter].filter((m) => !m.error);
// The faster of the two memcpy runs: the stricter yardstick for the sequential-read target.
const memcpy = memcpyRuns.length ? memcpyRuns.reduce((a, b) => (a.median <= b.median ? a : b)) : memcpyBefore;

const BASELINE = 'fs-disk';
const get = (id, w) => runs.get(id)?.results.get(w);
const ok = (r) => r && !r.error && Number.isFinite(r.median);

/** What the pool reported for itself (an ext4-dax disk directory gets MAP_SYNC), else the static label. */
function granularityOf(c) {
  const info = runs.get(c.id).info;
  if (c.module !== 'pool' || !info) return c.granularity;
  // At page granularity a file is written with pwrite (device-dax has none) and made durable by msync.
  const how = info.granularity !== 'page' ? '' : info.kind === 'devdax' ? ' (msync)' : ' (pwrite + msync)';
  return `${info.granularity}${how}${c.env.PMEMDAX_FORCE_GRANULARITY ? ' (forced)' : ''}`;
}

function resultTable() {
  const lines = [
    `| workload | contender | medium | granularity | median | p99 | ops/s | vs ${BASELINE} |`,
    '|---|---|---|---|---:|---:|---:|---:|',
  ];
  for (const w of workloads) {
    const base = get(BASELINE, w.id);
    for (const c of current) {
      const run = runs.get(c.id);
      const r = run.results.get(w.id);
      const head = `| ${w.label} | ${c.label} | ${c.mediumLabel} | ${granularityOf(c)} |`;
      if (run.skipped && !ok(r)) {
        lines.push(`${head} — | — | — | not run: ${run.skipped} |`);
      } else if (!ok(r)) {
        lines.push(`${head} — | — | — | failed: ${r?.error ?? 'no result'} |`);
      } else {
        const ratio = ok(base) ? formatRatio(base.median / r.median) : '—';
        lines.push(`${head} ${formatNs(r.median)} | ${formatNs(r.p99)} | ${formatRate(r.opsPerSec)} | ${ratio} |`);
      }
    }
  }
  return lines.join('\n');
}

function targetTable() {
  const lines = ['| target | measured | met |', '|---|---|---|'];
  for (const t of TARGETS) {
    const verdict = t.evaluate({ get, ok, memcpy });
    const met = verdict.measured === null ? '**missed** (not measured)' : verdict.met ? 'met' : '**missed**';
    lines.push(`| ${t.label} | ${verdict.text} | ${met} |`);
  }
  return lines.join('\n');
}

/** Each pool contender from the working tree against its run from the --before commit, per workload. */
function beforeAfterTable() {
  const lines = ['| workload | medium | before | after | speedup |', '|---|---|---:|---:|---:|'];
  for (const w of workloads) {
    for (const c of contenders.filter((x) => x.beforeOf)) {
      const [was, now] = [get(c.id, w.id), get(c.beforeOf, w.id)];
      const cell = (id, r) => (ok(r) ? formatNs(r.median) : `failed: ${r?.error ?? runs.get(id).skipped ?? 'no result'}`);
      const speedup = ok(was) && ok(now) ? formatRatio(was.median / now.median) : '—';
      lines.push(`| ${w.label} | ${c.mediumLabel} | ${cell(c.id, was)} | ${cell(c.beforeOf, now)} | ${speedup} |`);
    }
  }
  return lines.join('\n');
}

const beforeSection = before
  ? `

### Before and after the performance work

The pool as it was at ${before.short} (${before.date.slice(0, 10)}, "${before.subject}"), built apart and run in
this same run on the same data, against the working tree (\`--before ${before.short}\`). Medians; speedup is before
over after.

${beforeAfterTable()}`
  : '';

/** A decade tick: 1 µs, 10 µs, 100 µs, 1 ms, … */
function decade(ns) {
  const units = [[1e9, 's'], [1e6, 'ms'], [1e3, 'µs'], [1, 'ns']];
  const [scale, unit] = units.find(([u]) => ns >= u) ?? units[units.length - 1];
  return `${Math.round(ns / scale)} ${unit}`;
}

function plot() {
  const byName = (workloadIds) =>
    current
      .filter((c) => !runs.get(c.id).skipped)
      .map((c) => ({
        name: `${c.label} (${c.mediumLabel})`,
        colour: c.colour,
        dashed: c.medium === 'disk',
        points: workloadIds.map(([id, size]) => (ok(get(c.id, id)) ? [size, get(c.id, id).median] : null)),
      }));
  const sizes = [...RECORD_SIZES, SEQ_SIZE];
  const labels = sizes.map((s) => ({ value: s, label: formatSize(s) + (s === SEQ_SIZE ? ' seq.' : '') }));
  return linePlot({
    title: 'Durable write latency by record size (median, log scales)',
    yLabel: 'median latency',
    formatY: decade,
    panels: [
      {
        title: 'random offsets (1 MiB: sequential)',
        x: labels,
        series: byName([...RECORD_SIZES.map((s) => [`write-rand-${s}`, s]), ['seq-write', SEQ_SIZE]]),
      },
      {
        title: 'appends',
        x: labels.slice(0, RECORD_SIZES.length),
        series: byName(RECORD_SIZES.map((s) => [`append-${s}`, s])),
      },
    ],
  });
}

const poolRun = [...runs.values()].find((r) => r.contender.module === 'pool' && r.info);
const lmdbRun = [...runs.values()].find((r) => r.contender.module === 'lmdb' && r.describe);
const environment = markdownPairs(
  environmentRows([
    ['load average (1 min)', `${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`],
    ['disk medium', `${dirs.disk}: ${mediumOf(dirs.disk)}`],
    ['shm medium', `${dirs.shm}: ${mediumOf(dirs.shm)} (RAM; fdatasync does nothing there)`],
    ['pmemdax granularity', current.filter((c) => c.module === 'pool').map((c) => {
      const info = runs.get(c.id).info;
      return `${c.mediumLabel}: ${info ? `${info.granularity} (${info.kind}, MAP_SYNC ${info.mapSync ? 'yes' : 'no'})` : 'not run'}${c.env.PMEMDAX_FORCE_GRANULARITY ? ', forced by PMEMDAX_FORCE_GRANULARITY' : ''}`;
    }).join('; ') || 'not run'],
    ['lmdb', lmdbRun ? `lmdb-js ${lmdbRun.describe.version}` : 'not run'],
    ['memcpy', memcpy.error ? memcpy.error : `${formatNs(memcpy.median)} per 1 MiB (${(MiB / memcpy.median).toFixed(2)} GB/s), C memcpy over a ${formatSize(config.dataBytes)} mapping of ${dirs.shm}, best of two runs (start and end)`],
    ['run', `${quick ? '--quick, ' : ''}${(seconds / 60).toFixed(1)} min in all`],
  ]),
);

const method = [
  `Each contender prepares its own copy of the same ${formatSize(config.dataBytes)} data set (the same bytes at the`,
  'same offsets) in a scratch directory on the medium, then runs every workload in a fresh process that first',
  'reads the whole data set once (so that no contender pays first-touch page faults in its mappings), then',
  `${config.warmupMs} ms of warm-up, then up to ${config.budgetMs} ms of operations, each timed on its own (median and p99`,
  'are over single operations; ops/s is operations over the measured wall time). Offsets come from one seeded',
  'generator, so every contender visits the same records in the same order. Every write is durable when it',
  'returns (resolves): fs calls `fdatasync` after each write, lmdb commits a synchronous transaction, pmemdax',
  'returns once its data is persisted (appends: on a `{ sync: true }` file, so the new size is durable too).',
  `Appends go to a fresh file (at most ${formatSize(config.appendBytes)} each). Mixed: ${config.clients} async clients,`,
  'each op a read or an update (even odds) of a random 4 KiB record, latency from call to resolution.',
  `Reopen: ${config.records.toLocaleString('en-US')} records of ${config.recordSize} B are written in durable batches of ${config.batch},`,
  `then ${config.reopens} fresh processes each time opening the store and reading the last record (p99 column: the slowest).`,
  `lmdb holds records as values under integer keys, one database per record size; its 64 B key space is`,
  `${LMDB_SMALL_KEYS.toLocaleString('en-US')} records (16 MiB), since filling 16.7 M keys would take longer than the whole run;`,
  'its 1 MiB operations are 16 consecutive 64 KiB records (one transaction for a write), and reads copy the',
  'value into the caller\'s buffer, as the other contenders\' reads do.',
].join('\n');

const body = `## Against fs and lmdb-js (\`npm run bench:compare\`)

bench/compare/run.mjs regenerates this section${quick ? ' (this run: `--quick`, smaller data and budgets)' : ''}.
Ratios are ${BASELINE}'s median over the contender's (higher is faster). Hand-written notes on the
misses follow the generated part.

### Environment

${environment}

### Method

${method}

### Targets (issue 7)

${targetTable()}

### Results

${resultTable()}

![Durable write latency by record size](${svgName})${beforeSection}
`;

// The targets are the host's: in the guest they would only print as not measured.
process.stdout.write(guest ? `${resultTable()}\n` : `${resultTable()}\n\n${targetTable()}\n`);
if (before) process.stdout.write(`\n${beforeAfterTable()}\n`);
log(`done in ${(seconds / 60).toFixed(1)} min`);
const failures = [...runs.values()].flatMap((r) => (r.skipped ? [`${r.id}: ${r.skipped}`] : r.errors.map((e) => `${r.id} ${e}`)));
if (failures.length) log(`not all cases ran:\n  ${failures.join('\n  ')}`);
if (args.json) {
  writeFileSync(resolve(args.json), JSON.stringify(runJson({ plan: args.plan, config, dirs, workloads, contenders, runs, seconds })));
  log(`wrote ${resolve(args.json)}`);
}
if (!args['no-write'] && !guest) {
  writeSection(docPath, 'bench:compare', body);
  writeFileSync(join(dirname(docPath), svgName), plot());
  log(`wrote ${docPath} and ${join(dirname(docPath), svgName)}`);
}
