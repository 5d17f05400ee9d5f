// run.mjs -- `npm run bench:pool`: the pool's own targets (issue 6) in one run, every measurement in a
// fresh process: durable 4 KiB writeSync on /dev/shm at granularity cacheline (overwrite and append),
// create+unlink rate, and Pool.open time, the last two for pools holding 1,000 to 1,000,000 files.
// Writes its section of docs/benchmark.md.
//
//   node bench/pool/run.mjs [--quick] [--rounds N] [--budget MS] [--files 1000,10000,…] [--opens N]
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
import { formatNs, formatRate, median } from '../common/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    budget: { type: 'string' },
    files: { type: 'string' },
    opens: { type: 'string' },
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
  files: (args.files ?? (quick ? '1000,10000,100000' : '1000,10000,100000,1000000')).split(',').map(Number),
  opens: Number(args.opens ?? (quick ? 3 : 5)),
  seed: 42,
};
const dir = resolve(args.dir);
const log = (m) => process.stderr.write(`bench:pool: ${m}\n`);
if (!isTmpfs(dir)) log(`warning: ${dir} is not tmpfs; the write target is for /dev/shm`);

const WRITE_TARGET_NS = 2000;
const CHURN_TARGET = 100_000;
const OPEN_TARGET_NS = 1e9;
const OPEN_TARGET_FILES = 100_000;

if (!args['no-build']) {
  const r = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    log('npm run build:ts failed (or pass --no-build to use dist/ as it is)');
    process.exit(1);
  }
}

function child(spec) {
  const r = spawnSync(process.execPath, [join(here, 'case.mjs'), JSON.stringify(spec)], {
    cwd: root,
    // tmpfs has no MAP_SYNC, which would make the granularity `page`; the target is for the flush path.
    env: { ...process.env, PMEMDAX_FORCE_GRANULARITY: 'cacheline' },
    encoding: 'utf8',
    maxBuffer: 16 * MiB,
  });
  if (r.status !== 0) {
    throw new Error(childError(r));
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
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
    // Empty files hold no blocks; the room is for the metadata checkpoint and the journal.
    const populate = attempt(`populate ${n}`, () => child({ step: 'populate', path, n, poolBytes: 128 * MiB + n * 1024 }));
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
      row.churn = attempt(`churn ${n}`, () =>
        child({ step: 'churn', path, warmupMs: config.warmupMs, budgetMs: config.budgetMs, maxOps: 1_000_000 }),
      );
    }
    rmSync(path, { force: true });
    growth.push(row);
    log(`${n} files: populate ${populate.error ? 'failed' : `${formatRate(populate.perSec)}/s`}, open ${row.opens?.length ? formatNs(median(row.opens)) : '—'}, ` +
      `create+unlink ${row.churn && !row.churn.error ? `${formatRate(row.churn.opsPerSec)}/s` : '—'}`);
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

### Targets (issue 6)

${targetTable()}

### Durable writes

${writeTable()}

### Growth with the number of files

${growthTable()}
`;

process.stdout.write(`${targetTable()}\n\n${writeTable()}\n\n${growthTable()}\n`);
log(`done in ${(seconds / 60).toFixed(1)} min`);
if (!args['no-write']) {
  writeSection(docPath, 'bench:pool', body);
  log(`wrote ${docPath}`);
}
