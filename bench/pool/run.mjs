// run.mjs -- `npm run bench:pool`: the pool's own targets (issue 6) in one run, every measurement in a
// fresh process: durable 4 KiB writeSync on /dev/shm at granularity cacheline (overwrite and append),
// create+unlink rate, and Pool.open time, the last two for pools holding 1,000 to 10,000,000 files; and
// issue 16's scale measurements at each of those file counts (open after a crash, heap, lookups, listing,
// check, longest call) plus an aged pool's 2 MiB alignment. Writes its section of docs/benchmark.md.
//
//   node bench/pool/run.mjs [--quick] [--rounds N] [--budget MS] [--files 1000,10000,…] [--opens N]
//                           [--aged-bytes BYTES] [--timeout S] [--max-old-space MB]
//                           [--dir DIR] [--no-build] [--no-write] [--doc FILE]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MiB } from '../common/data.mjs';
import { writeSection } from '../common/doc.mjs';
import { environmentRows, isTmpfs, markdownPairs, mediumOf } from '../common/env.mjs';
import { childError } from '../common/child.mjs';
import { formatNs, formatRate, formatSize, median } from '../common/stats.mjs';
import { agedTable, scaleTable, targetsTable } from './scale.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    budget: { type: 'string' },
    files: { type: 'string' },
    opens: { type: 'string' },
    'aged-bytes': { type: 'string' },
    timeout: { type: 'string' },
    'max-old-space': { type: 'string' },
    dir: { type: 'string', default: '/dev/shm' },
    'no-build': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    doc: { type: 'string', default: join(root, 'docs/benchmark.md') },
  },
});
const docPath = resolve(args.doc);
const quick = args.quick;
const config = {
  rounds: Number(args.rounds ?? (quick ? 1 : 3)),
  budgetMs: Number(args.budget ?? (quick ? 200 : 1000)),
  warmupMs: quick ? 50 : 200,
  fileBytes: quick ? 16 * MiB : 64 * MiB,
  appendBytes: quick ? 32 * MiB : 256 * MiB,
  files: (args.files ?? (quick ? '1000,10000,100000' : '1000,100000,1000000,10000000')).split(',').map(Number),
  opens: Number(args.opens ?? (quick ? 3 : 5)),
  seed: 42,
  // 0 skips the aged pool.
  agedBytes: Number(args['aged-bytes'] ?? (quick ? 256 * MiB : 1024 * MiB)),
  // Per child: a populate of 10,000,000 files takes minutes, and one that thrashes must not hang the run.
  timeoutMs: Number(args.timeout ?? 3600) * 1000,
  // Format 1 holds every file's metadata in the heap (~350 bytes each): 10,000,000 files need gigabytes.
  maxOldSpaceMb: Number(args['max-old-space'] ?? 8192),
  // Journal records the crash child leaves (four per change: create, size, rename, and an unlink after).
  changes: 1000,
};
const dir = resolve(args.dir);
const log = (m) => process.stderr.write(`bench:pool: ${m}\n`);
if (!isTmpfs(dir)) log(`warning: ${dir} is not tmpfs; the write target is for /dev/shm`);

const WRITE_TARGET_NS = 2000;
const CHURN_TARGET = 100_000;
const OPEN_TARGET_NS = 1e9;
const OPEN_TARGET_FILES = 100_000;
const JOURNAL_BYTES = 64 * MiB;

if (!args['no-build']) {
  const r = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    log('npm run build:ts failed (or pass --no-build to use dist/ as it is)');
    process.exit(1);
  }
}

/** Runs one case.mjs step; `flags` go to node; `selfKilled`: the step ends by SIGKILL after printing its result. */
function child(spec, { flags = [], selfKilled = false } = {}) {
  const r = spawnSync(process.execPath, [`--max-old-space-size=${config.maxOldSpaceMb}`, ...flags, join(here, 'case.mjs'), JSON.stringify(spec)], {
    cwd: root,
    // tmpfs has no MAP_SYNC, which would make the granularity `page`; the target is for the flush path.
    env: { ...process.env, PMEMDAX_FORCE_GRANULARITY: 'cacheline' },
    encoding: 'utf8',
    maxBuffer: 16 * MiB,
    timeout: config.timeoutMs,
    killSignal: 'SIGKILL',
  });
  if (r.error?.code === 'ETIMEDOUT') throw new Error(`timed out after ${config.timeoutMs / 1000} s`);
  // V8 aborts with "FATAL ERROR: … JavaScript heap out of memory", which childError would report as SIGABRT.
  if (/heap out of memory/.test(r.stderr ?? '')) throw new Error(`out of memory (JavaScript heap, --max-old-space-size=${config.maxOldSpaceMb})`);
  const ended = selfKilled ? r.signal === 'SIGKILL' : r.status === 0;
  const last = r.stdout?.trim().split('\n').pop();
  if (!ended || !last) throw new Error(childError(r));
  return JSON.parse(last);
}

/** Runs `fn`, turning a failure into a recorded error so that one broken case does not hide the others. */
function attempt(label, fn) {
  try {
    return fn();
  } catch (error) {
    log(`${label}: failed, ${error.message}`);
    return { error: error.message };
  }
}

const work = mkdtempSync(join(dir, 'pmemdax-bench-pool-'));
const started = Date.now();
const loadBefore = os.loadavg()[0];
const MODES = [
  { mode: 'overwrite', label: 'overwrite of allocated blocks', target: true },
  { mode: 'append-sync', label: 'append to a `{ sync: true }` file: size durable on return', target: true },
  { mode: 'append', label: 'append: data durable on return, size at fsync', target: false },
];
const writes = new Map(MODES.map((m) => [m.mode, []]));
let granularity = null;
const growth = [];
let aged;
try {
  // Rounds interleave the modes so that a burst of other work on the machine hits them alike.
  for (let round = 0; round < config.rounds; round++) {
    for (const { mode } of MODES) {
      const path = join(work, `write-${mode}`);
      const r = attempt(`write ${mode}`, () =>
        child({
          step: 'write', mode, path, seed: config.seed + round, poolBytes: config.fileBytes + config.appendBytes + 64 * MiB,
          fileBytes: config.fileBytes, appendBytes: config.appendBytes, warmupMs: config.warmupMs, budgetMs: config.budgetMs, maxOps: 1_000_000,
        }),
      );
      rmSync(path, { force: true });
      if (!r.error) granularity = r.granularity;
      writes.get(mode).push(r);
    }
    log(`writes: round ${round + 1}/${config.rounds} done`);
  }
  for (const n of config.files) {
    const path = join(work, `files-${n}`);
    const row = { n };
    // Empty files hold no blocks; the room is for the journal and the checkpoint (about 45 bytes a file, twice:
    // the next one must fit beside it). The pool file is allocated in full on tmpfs, so no more than that:
    // 2.5 GiB of memory at 10,000,000 files. The journal is the 64 MiB a pool of 4 GiB or more gets, as a
    // device holding millions of files would: checkpoints during churn then come as often at every size.
    const populate = attempt(`populate ${n}`, () =>
      child({ step: 'populate', path, n, poolBytes: 128 * MiB + n * 256, journalBytes: JOURNAL_BYTES }));
    row.populate = populate;
    if (!populate.error) {
      const opens = [];
      for (let k = 0; k < config.opens; k++) {
        const r = attempt(`open ${n}`, () => child({ step: 'open', path, n }));
        if (r.error) {
          row.openError = r.error;
          break;
        }
        opens.push(r.ns);
        row.recovery = r.recovery;
      }
      row.opens = opens;
      const timed = { path, n, seed: config.seed, warmupMs: config.warmupMs, budgetMs: config.budgetMs, maxOps: 1_000_000 };
      row.heap = attempt(`heap ${n}`, () => child({ step: 'heap', path, n }, { flags: ['--expose-gc'] }));
      row.lookup = attempt(`lookup ${n}`, () => child({ ...timed, step: 'lookup' }));
      // A process's first listing is its code's first run (compiled, interpreted), which the machine's noise
      // moves by half: the median of as many processes as the opens, with the fastest and slowest.
      row.list = attempt(`list ${n}`, () => {
        const runs = Array.from({ length: config.opens }, () => child({ step: 'list', path, n }));
        const firsts = runs.map((r) => r.firstNs);
        return { firstNs: median(firsts), secondNs: median(runs.map((r) => r.secondNs)), firstMinNs: Math.min(...firsts), firstMaxNs: Math.max(...firsts), runs: runs.length };
      });
      row.check = attempt(`check ${n}`, () => child({ step: 'check', path, n }, { flags: ['--expose-gc'] }));
      row.churn = attempt(`churn ${n}`, () => child({ ...timed, step: 'churn' }));
      // Last: a failed recovery must not spoil the measurements above. The same `open` step then times the replay.
      row.crash = attempt(`crash ${n}`, () => {
        child({ step: 'crash', path, n, changes: config.changes }, { selfKilled: true });
        return child({ step: 'open', path, n });
      });
    }
    rmSync(path, { force: true });
    growth.push(row);
    const ok = (r, show) => (r && !r.error ? show(r) : r ? 'failed' : '—');
    log(`${n} files: populate ${ok(populate, (r) => `${formatRate(r.perSec)}/s`)}, open ${row.opens?.length ? formatNs(median(row.opens)) : '—'}, ` +
      `create+unlink ${ok(row.churn, (r) => `${formatRate(r.opsPerSec)}/s`)}, lookups ${ok(row.lookup, (r) => `${formatRate(r.opsPerSec)}/s`)}, ` +
      `heap ${ok(row.heap, (r) => `${(r.heapBytes / MiB).toFixed(1)} MiB`)}, open after a crash ${ok(row.crash, (r) => formatNs(r.ns))}`);
  }
  if (config.agedBytes > 0) {
    const path = join(work, 'aged');
    aged = attempt('aged', () => child({ step: 'aged', path, poolBytes: config.agedBytes, seed: config.seed }));
    rmSync(path, { force: true });
    log(`aged pool: ${aged.error ? 'failed' : `${(aged.share * 100).toFixed(1)} % of the large files' 2 MiB ranges PMD-mappable`}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const loadAfter = os.loadavg()[0];
const seconds = (Date.now() - started) / 1000;

const mid = (rs, key) => {
  const ok = rs.filter((r) => !r.error);
  return ok.length ? median(ok.map((r) => r[key])) : NaN;
};
const verdict = (met) => (met === null ? '**missed** (not measured)' : met ? 'met' : '**missed**');

function writeTable() {
  const lines = ['| durable 4 KiB `writeSync` | median | p99 | ops/s | target | met |', '|---|---:|---:|---:|---:|---|'];
  for (const { mode, label, target } of MODES) {
    const rs = writes.get(mode);
    const [m, p, ops] = [mid(rs, 'median'), mid(rs, 'p99'), mid(rs, 'opsPerSec')];
    const err = rs.find((r) => r.error)?.error;
    const met = Number.isFinite(m) ? m <= WRITE_TARGET_NS : null;
    lines.push(`| ${label} | ${formatNs(m)} | ${formatNs(p)} | ${formatRate(ops)} | ${target ? `≤ ${formatNs(WRITE_TARGET_NS)}` : '—'} | ` +
      `${target ? verdict(met) : '—'}${err ? ` (failed: ${err})` : ''} |`);
  }
  return lines.join('\n');
}

function growthTable() {
  const lines = [
    '| files in the pool | populate (creates/s) | create+unlink median | create+unlink pairs/s | `Pool.open` median | `Pool.open` slowest | open vs previous row |',
    '|---:|---:|---:|---:|---:|---:|---:|',
  ];
  let previous = null;
  for (const row of growth) {
    const n = row.n.toLocaleString('en-US');
    if (row.populate.error) {
      lines.push(`| ${n} | failed: ${row.populate.error} | — | — | — | — | — |`);
      continue;
    }
    const open = row.opens.length ? median(row.opens) : NaN;
    const slowest = row.opens.length ? Math.max(...row.opens) : NaN;
    const churn = row.churn.error ? null : row.churn;
    const growthText = previous !== null && Number.isFinite(open) ? `${(open / previous).toFixed(1)}×` : '—';
    lines.push(`| ${n} | ${formatRate(row.populate.perSec)} | ${churn ? formatNs(churn.median) : `failed: ${row.churn.error}`} | ` +
      `${churn ? formatRate(churn.opsPerSec) : '—'} | ${row.openError ? `failed: ${row.openError}` : formatNs(open)} | ${formatNs(slowest)} | ${growthText} |`);
    previous = Number.isFinite(open) ? open : null;
  }
  return lines.join('\n');
}

function targetTable() {
  const at = growth.find((r) => r.n === OPEN_TARGET_FILES);
  const churnRates = growth.filter((r) => r.churn && !r.churn.error).map((r) => [r.n, r.churn.opsPerSec]);
  const churnAt = churnRates.find(([n]) => n === OPEN_TARGET_FILES) ?? churnRates[0];
  const openAt = at?.opens?.length ? median(at.opens) : NaN;
  const writeRows = MODES.filter((m) => m.target).map(({ mode, label }) => {
    const m = mid(writes.get(mode), 'median');
    return `| durable 4 KiB write ≤ 2 µs; ${label} | ${formatNs(m)} | ${verdict(Number.isFinite(m) ? m <= WRITE_TARGET_NS : null)} |`;
  });
  return [
    '| target | measured | met |',
    '|---|---|---|',
    ...writeRows,
    `| create+unlink ≥ 100,000/s | ${churnAt ? `${formatRate(churnAt[1])}/s (pool holding ${churnAt[0].toLocaleString('en-US')} files)` : '—'} | ` +
      `${verdict(churnAt ? churnAt[1] >= CHURN_TARGET : null)} |`,
    `| open of a pool holding 100,000 files ≤ 1 s | ${formatNs(openAt)} | ${verdict(Number.isFinite(openAt) ? openAt <= OPEN_TARGET_NS : null)} |`,
  ].join('\n');
}

/** The largest `pool.stats().longestHoldMs` the timed loops reported. */
function longestHold() {
  const rs = growth.flatMap((row) => [row.churn, row.lookup]).filter((r) => r && !r.error);
  return rs.length ? Math.max(...rs.map((r) => r.longestHoldMs)) : NaN;
}
const formatMs = (x) => (x === 0 ? '0' : formatNs(x * 1e6));

const environment = markdownPairs(
  environmentRows([
    ['load average (1 min)', `${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`],
    ['medium', `pool files in ${dir}: ${mediumOf(dir)}`],
    ['granularity', `${granularity ?? 'not measured'} (PMEMDAX_FORCE_GRANULARITY=cacheline)`],
    ['run', `${quick ? '--quick, ' : ''}${(seconds / 60).toFixed(1)} min in all`],
  ]),
);

const body = `## The pool (\`npm run bench:pool\`)

bench/pool/run.mjs regenerates this section${quick ? ' (this run: `--quick`)' : ''}. Every measurement runs in a fresh
process with the pool in ${dir} and the granularity forced to \`cacheline\` (flushes and fences, as on
pmem without eADR).

### Environment

${environment}

### Method

Writes: ${config.rounds} round${config.rounds === 1 ? '' : 's'}, the modes interleaved, each a fresh process that creates a pool, then
${config.warmupMs} ms of warm-up and up to ${config.budgetMs} ms of 4 KiB \`writeSync\` calls, each timed; the table
gives the median over rounds of each round's median (and p99). Overwrites go to random 4 KiB blocks of a
${config.fileBytes / MiB} MiB file written in full beforehand; appends write at \`file.size\` (at most ${config.appendBytes / MiB} MiB).
Name space: for each size, one process creates the files (empty, named \`f0000000\`…) and closes the
pool; ${config.opens} fresh processes each time \`Pool.open\` alone; then one process measures
\`open(name, { create, exclusive })\` + \`close\` + \`unlink\` of fresh names for ${config.budgetMs} ms.
Each pool is ${formatSize(128 * MiB)} plus 256 bytes a file, with a ${formatSize(JOURNAL_BYTES)} journal at every size.

Scale (issue 16), at each file count, each in a fresh process (node \`--max-old-space-size=${config.maxOldSpaceMb}\`, killed
after ${config.timeoutMs / 1000} s) on the pool above: the heap with \`--expose-gc\`, a GC before \`Pool.open\` and one after
(no file open), as the change of \`heapUsed\` and of \`heapUsed + external\` (\`external\` includes
\`arrayBuffers\`, so that is the total; the mapping itself counts in neither); lookups: \`pool.exists(name)\` of
65,536 existing names drawn at random, the cheapest public call through the name index (\`stat\` makes the same
lookup, then builds its result): one timed pass over them (the first pass: most of the pages they need are
touched for the first time in the process), then the same names again for ${config.budgetMs} ms; the first 100 names of \`list({ prefix: 'f00', limit: 100 })\`,
spread into an array, as the first listing after the open and again (each the median of ${config.opens} processes); \`Pool.check(path)\` (every invariant, the
media walked without loading the pool), that divided by the files, and in a second check the most heap + external it
keeps above the process's own (a GC, then a sample, at every 65,536th file: live memory, not garbage yet to be collected). Longest call: the slowest single call of the
create+unlink and lookup loops after their warm-up, each timed alone (\`performance.now()\` around it, which the rates include), with the time V8's garbage
collections took inside it (their \`PerformanceObserver\` entries) and the longest call no collection ran in;
\`pool.stats().longestHoldMs\` was ${formatMs(longestHold())} in the same children, as it times only the promise
methods' pieces and these calls are synchronous. Open after a crash: a process makes ${config.changes.toLocaleString('en-US')}
times create, 4 KiB write, \`fsyncSync\`, close and rename, then unlinks those files, and SIGKILLs itself
(no close, no exit hook); a fresh process times \`Pool.open\`, whose replay and checkpoint it includes, and reports
\`info.recovery.replayed\`. Aged pool${config.agedBytes > 0 ? ` (${formatSize(config.agedBytes)})` : ''}: one process, seeded random churn
(bench/pool/aged.mjs): half the steps write a small file (4–256 KiB) in one call, the other half append a
chunk of 4 KiB–1 MiB to one of 4 large files growing side by side (each 2–32 MiB); filled to 70 %
(\`statfs\`), random files deleted down to 60 %, three times, then filled to 80 %. For each file of 2 MiB or
more, a whole 2 MiB file range counts as PMD-mappable when it lies in one run of \`file.fiemap()\` extents
contiguous on the device whose device offset less file offset is a multiple of 2 MiB.

### Targets (issue 6)

${targetTable()}

### Durable writes

${writeTable()}

### Growth with the number of files

${growthTable()}

### Targets (issue 16)

${targetsTable(growth, aged)}

### Scale (issue 16)

${scaleTable(growth)}

### Aged pool (issue 16)

${agedTable(aged)}
`;

process.stdout.write(`${targetTable()}\n\n${writeTable()}\n\n${growthTable()}\n\n${targetsTable(growth, aged)}\n\n${scaleTable(growth)}\n\n${agedTable(aged)}\n`);
log(`done in ${(seconds / 60).toFixed(1)} min`);
if (!args['no-write']) {
  writeSection(docPath, 'bench:pool', body);
  log(`wrote ${docPath}`);
}
