// run.mjs -- `npm run bench`: the persistence primitives of pmemdax against PMDK's libpmem and plain
// memcpy, each contender in its own process on the same /dev/shm file, interleaved over several rounds.
// Writes docs/benchmark.md (keeping its hand-written notes) and prints the table.
//
//   node bench/primitives/run.mjs [--rounds N] [--budget MS] [--no-write]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, openSync, closeSync, ftruncateSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KiB, MiB } from '../common/data.mjs';
import { cpuModel } from '../common/env.mjs';
import { formatSize, median } from '../common/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const harness = join(here, 'libpmem-harness');
const docPath = join(root, 'docs/benchmark.md');
const NOTES_MARKER = '<!-- notes: everything below this line is kept by `npm run bench` -->';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    budget: { type: 'string', default: '150' },
    'no-write': { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const budgetMs = Number(args.budget);

// 32 MiB of destinations: beyond the caches for the small sizes' rotation, and 16 slots at 2 MiB.
const SPAN = 32 * MiB;
const OPERATIONS = [
  { op: 'copy', size: 64, target: 2.0 },
  { op: 'copy', size: 256, target: null },
  { op: 'copy', size: 4 * KiB, target: 1.3 },
  { op: 'copy', size: 64 * KiB, target: null },
  { op: 'copy', size: 2 * MiB, target: 1.1 },
  { op: 'persist', size: 64, target: 2.0 },
];
const opArgs = OPERATIONS.map(({ op, size }) => `${op}:${size}`);

const CONTENDERS = {
  libpmem: {
    command: harness,
    args: (file) => ['libpmem', file, String(SPAN), String(budgetMs), ...opArgs],
    // Without it libpmem sees tmpfs as not pmem and pmem_persist becomes msync.
    env: { PMEM_IS_PMEM_FORCE: '1' },
  },
  pmemdax: {
    command: process.execPath,
    args: (file) => [join(here, 'pmemdax.mjs'), file, String(SPAN), String(budgetMs), ...opArgs],
    // tmpfs has no MAP_SYNC, which would make the granularity `page` (msync); measure the flush path.
    env: { PMEMDAX_FORCE_GRANULARITY: 'cacheline' },
  },
  memcpy: {
    command: harness,
    args: (file) => ['memcpy', file, String(SPAN), String(budgetMs), ...opArgs],
    env: {},
  },
};

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

function prepare() {
  // dist/ is what the pmemdax contender loads; rebuild it so that it is the current source. The addon
  // itself is rebuilt by `npm run build`.
  const r = spawnSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail('npm run build:ts failed');
  const source = join(here, 'libpmem_harness.c');
  const stale = !existsSync(harness) || statSync(harness).mtimeMs < statSync(source).mtimeMs;
  if (stale) {
    const r = spawnSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-Wextra', '-o', harness, source, '-lpmem'], {
      stdio: 'inherit',
    });
    if (r.status !== 0) fail('could not build the libpmem harness; it needs `libpmem-dev` (apt-get install libpmem-dev)');
  }
}

function runContender(name, file) {
  const c = CONTENDERS[name];
  const r = spawnSync(c.command, c.args(file), {
    cwd: root,
    env: { ...process.env, ...c.env },
    encoding: 'utf8',
    maxBuffer: 64 * MiB,
  });
  if (r.status !== 0) throw new Error(`${name} exited with ${r.status ?? r.signal}:\n${r.stderr}`);
  const [head, ...results] = r.stdout.trim().split('\n').map((line) => JSON.parse(line));
  return { head, results };
}

function readCpu() {
  const text = readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuModel();
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  const listed = ['clwb', 'clflushopt', 'avx2', 'avx512f'].map((f) => `${f} ${flags.has(f) ? 'yes' : 'no'}`);
  return { model, flags: listed.join(', ') };
}

function libpmemVersion() {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'libpmem1'], { encoding: 'utf8' });
  } catch {
    return 'unknown';
  }
}

const ns = (x) => (x >= 1000 ? x.toFixed(0) : x.toFixed(1));
const gbs = (size, nsPerOp) => (size / nsPerOp).toFixed(2);

function table(medians) {
  const lines = [
    '| operation | size | libpmem ns/op | libpmem GB/s | pmemdax ns/op | pmemdax GB/s | pmemdax / libpmem | target | met | memcpy ns/op | memcpy GB/s | memcpy / libpmem |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|',
  ];
  OPERATIONS.forEach(({ op, size, target }, i) => {
    const [l, p, m] = ['libpmem', 'pmemdax', 'memcpy'].map((name) => medians[name][i]);
    const ratio = p / l;
    const name = op === 'copy' ? 'copy + persist' : 'store + persist';
    const met = target === null ? '—' : ratio <= target ? 'met' : '**missed**';
    lines.push(
      `| ${name} | ${formatSize(size)} | ${ns(l)} | ${gbs(size, l)} | ${ns(p)} | ${gbs(size, p)} | ${ratio.toFixed(3)}× | ` +
        `${target === null ? '—' : `≤ ${target.toFixed(1)}×`} | ${met} | ${ns(m)} | ${gbs(size, m)} | ${(m / l).toFixed(3)}× |`,
    );
  });
  return lines.join('\n');
}

prepare();
const file = join('/dev/shm', `pmemdax-bench-${process.pid}`);
const fd = openSync(file, 'w');
ftruncateSync(fd, SPAN);
closeSync(fd);

const batches = { libpmem: OPERATIONS.map(() => []), pmemdax: OPERATIONS.map(() => []), memcpy: OPERATIONS.map(() => []) };
const perBatch = { libpmem: OPERATIONS.map(() => 0), pmemdax: OPERATIONS.map(() => 0), memcpy: OPERATIONS.map(() => 0) };
let pmemdaxInfo;
let failure;
const started = Date.now();
// Other work on the machine moves the JS contender more than the C ones; the table says how busy it was.
const loadBefore = os.loadavg()[0];
try {
  const names = Object.keys(CONTENDERS);
  for (let round = 0; round < rounds; round++) {
    // Rotate who goes first so that no contender always runs right after another's page-cache churn.
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length];
      const { head, results } = runContender(name, file);
      if (name === 'pmemdax') pmemdaxInfo = head.info;
      if (name === 'libpmem' && head.isPmem !== 1) throw new Error('libpmem did not treat the file as pmem');
      results.forEach((r, i) => {
        batches[name][i].push(...r.means);
        perBatch[name][i] = r.perBatch;
      });
    }
    process.stderr.write(`bench: round ${round + 1}/${rounds} done\n`);
  }
} catch (error) {
  failure = error;
} finally {
  rmSync(file, { force: true });
}
if (failure) fail(failure.message);
if (pmemdaxInfo.granularity !== 'cacheline') fail(`pmemdax ran at granularity ${pmemdaxInfo.granularity}, not cacheline`);

const loadAfter = os.loadavg()[0];
const medians = Object.fromEntries(Object.entries(batches).map(([name, perOp]) => [name, perOp.map(median)]));
const cpu = readCpu();
const environment = [
  '| | |',
  '|---|---|',
  `| date | ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} |`,
  `| CPU | ${cpu.model}, ${os.cpus().length} logical CPUs |`,
  `| CPU flags | ${cpu.flags} |`,
  `| load average (1 min) | ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after |`,
  `| kernel | Linux ${os.release()} |`,
  `| node | ${process.version} |`,
  `| libpmem | ${libpmemVersion()} (PMEM_IS_PMEM_FORCE=1) |`,
  `| medium | one ${SPAN / MiB} MiB file in /dev/shm (tmpfs, no MAP_SYNC), shared by all contenders |`,
  `| pmemdax | granularity ${pmemdaxInfo.granularity} (PMEMDAX_FORCE_GRANULARITY=cacheline), flush ${pmemdaxInfo.flush}, ` +
    `copy kernel ${pmemdaxInfo.copyKernel}, non-temporal from ${pmemdaxInfo.movntThreshold} B |`,
  `| method | ${rounds} rounds, contenders interleaved, ${budgetMs} ms of ~1 ms batches per operation and round after 30 ms of warm-up; ` +
    'median over all batches of the per-batch mean |',
].join('\n');

const result = table(medians);
const batchCounts = OPERATIONS.map(
  ({ op, size }, i) => `${op} ${formatSize(size)}: ${Object.keys(batches).map((n) => `${n} ${batches[n][i].length}×${perBatch[n][i]}`).join(', ')}`,
);

const previous = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
const markerAt = previous.indexOf(NOTES_MARKER);
const notes = markerAt >= 0 ? previous.slice(markerAt + NOTES_MARKER.length).trim() : '';
const doc = `# Benchmark: persistence primitives

\`npm run bench\` (bench/primitives/run.mjs) regenerates the tables below. Each contender runs in its own
process on the same file: **pmemdax** is the public \`Device\` API called from JavaScript
(\`device.copy(offset, src)\`, and \`device.persist(offset, 64)\` after a one-byte store through a
\`directAccess\` view); **libpmem** is PMDK's \`pmem_memcpy_persist\` / \`pmem_persist\` called from C
(bench/primitives/libpmem_harness.c); **memcpy** is the same C loop with \`memcpy\` (or the store alone)
and no write-back or fence: the limit for small sizes (see the notes). Destinations rotate through
the file one every max(size, 4 KiB), in the same order for every contender. Ratios are to libpmem's time; lower is better.

## Environment

${environment}

## Results

${result}

Batches per operation (count × operations per batch): ${batchCounts.join('; ')}.

${NOTES_MARKER}

${notes}
`;

process.stdout.write(`${result}\n`);
process.stderr.write(`bench: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
if (!args['no-write']) {
  writeFileSync(docPath, doc.trimEnd() + '\n');
  process.stderr.write(`bench: wrote ${docPath}\n`);
}
