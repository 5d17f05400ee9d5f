// run.mjs -- `npm run bench:backup`: what an online backup costs the writer whose process runs it. One
// process holds a pool for writing and appends to it, first alone and then while `pool.backup` copies the
// pool; the event loop's delay (its longest stall and 99th percentile) and the appends per second are
// compared between the two, in one run. Writes its section of docs/benchmark.md.
//
//   node bench/backup/run.mjs [--data-mib N] [--rounds R] [--no-write] [--doc FILE]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSection } from '../common/doc.mjs';
import { environmentRows, markdownPairs } from '../common/env.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const { Pool } = createRequire(import.meta.url)(join(root, 'dist/index.js'));
const { values: args } = parseArgs({
  options: {
    'data-mib': { type: 'string', default: '400' },
    rounds: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
    doc: { type: 'string', default: join(root, 'docs/benchmark.md') },
  },
});
const dataMiB = Number(args['data-mib']);
const rounds = Number(args.rounds);
const SMALL_FILES = 3000;
const BASELINE_MS = 2000;

const dir = mkdtempSync('/dev/shm/pmemdax-bench-backup-');
const path = join(dir, 'pool');

/** Appends (synced 4 KiB, one after another) until `until()` says stop; the event loop's delay meanwhile. */
async function appendLoad(file, until) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const chunk = Buffer.alloc(4096, 1);
  let ops = 0;
  const started = performance.now();
  h.enable();
  while (!until()) {
    await file.append(chunk);
    ops++;
  }
  h.disable();
  const seconds = (performance.now() - started) / 1000;
  return { opsPerSec: ops / seconds, maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, seconds };
}

/** The event loop's delay while nothing else runs on it, until `until` settles. */
async function idleDelay(until) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await until;
  h.disable();
  return { maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 };
}

const results = [];
try {
  const pool = Pool.create(path, { size: 2 * 1024 ** 3 });
  const mib = Buffer.alloc(1024 * 1024, 7);
  for (let i = 0; i < dataMiB; i++) {
    const f = pool.open(`big/${i}`, { create: true });
    f.writeSync(mib, 0);
    f.close();
  }
  // Records in the journal: the snapshot a backup takes replays them.
  for (let i = 0; i < SMALL_FILES; i++) {
    const f = pool.open(`small/${i}`, { create: true });
    f.writeSync(mib.subarray(0, 100), 0);
    f.close();
  }
  const log = pool.open('log', { create: true, sync: true });
  for (let round = 0; round < rounds; round++) {
    const end = performance.now() + BASELINE_MS;
    const alone = await appendLoad(log, () => performance.now() >= end);
    let done = false;
    const dest = join(dir, `copy-${round}`);
    const t0 = performance.now();
    const call = pool.backup(dest);
    // The caller's thread is held only for the call itself (posting the job; the first also starts the thread).
    const callMs = performance.now() - t0;
    const backup = call.then((r) => {
      done = true;
      return r;
    });
    const during = await appendLoad(log, () => done);
    const report = await backup;
    const backupSeconds = (performance.now() - t0) / 1000;
    rmSync(dest);
    await log.truncate(0);
    // The backup's own stalls: an event loop with nothing else to do, idle and then while a backup runs.
    const idle = await idleDelay(new Promise((r) => setTimeout(r, BASELINE_MS / 2)));
    const idleBackup = await idleDelay(pool.backup(dest));
    rmSync(dest);
    results.push({ alone, during, backupSeconds, bytes: report.bytes, idle, idleBackup, callMs });
  }
  log.close();
  await pool.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const rows = results.map((r, i) => `| ${i + 1} | ${f1(r.bytes / 2 ** 20)} MiB in ${f2(r.backupSeconds)} s (${f1(r.bytes / 2 ** 20 / r.backupSeconds)} MiB/s) | ${f2(r.callMs)} | ` +
  `${Math.round(r.alone.opsPerSec).toLocaleString('en-US')} | ${Math.round(r.during.opsPerSec).toLocaleString('en-US')} (${f2(r.during.opsPerSec / r.alone.opsPerSec)}×) | ` +
  `${f2(r.alone.maxMs)} / ${f2(r.alone.p99Ms)} | ${f2(r.during.maxMs)} / ${f2(r.during.p99Ms)} | ${f2(r.idle.maxMs)} / ${f2(r.idleBackup.maxMs)} |`);
const body = `## Online backup beside the writer (\`npm run bench:backup\`)

${markdownPairs(environmentRows([['pool', `/dev/shm, 2 GiB, ${dataMiB} MiB in 1 MiB files and ${SMALL_FILES} files of 100 bytes (their records in the journal)`], ['run', `${rounds} rounds: ${BASELINE_MS / 1000} s of appends alone, then appends while pool.backup copies the pool`]]))}

The writer appends synced 4 KiB records to one file, one after another, on its event loop; \`pool.backup\`
runs in the same process (on a thread of its own). Loop delay: the event loop's longest stall and its 99th
percentile, from \`monitorEventLoopDelay\` (1 ms resolution).

| round | backup | the call's own time (ms) | appends/s alone | appends/s during the backup | loop delay alone, max / p99 (ms) | during the backup, max / p99 (ms) | idle loop: alone / during a backup, max (ms) |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

The call's own time is all a backup holds the caller's thread for: it posts the job to the backups' thread
(the first call of a process also starts that thread). Median longest stall of an idle event loop during a backup: ${f2(median(results.map((r) => r.idleBackup.maxMs)))} ms (idle alone: ${f2(median(results.map((r) => r.idle.maxMs)))} ms); of the appending
writer's loop: ${f2(median(results.map((r) => r.during.maxMs)))} ms (alone: ${f2(median(results.map((r) => r.alone.maxMs)))} ms).
`;
console.log(body);
if (!args['no-write']) writeSection(args.doc, 'bench:backup', body);
