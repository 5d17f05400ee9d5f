// case.mjs -- one pool measurement in its own process (fresh JIT and heap); prints one JSON line.
//
//   node case.mjs '<spec as JSON>'
//
// steps: write (mode overwrite | append | append-sync), populate, churn, open; for issue 16 also heap, lookup,
// list, check, crash (ends in SIGKILL) and aged (see aged.mjs).
import { createRequire } from 'node:module';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { prng, timeSync } from '../common/measure.mjs';
import { payload } from '../common/data.mjs';
import { aged } from './aged.mjs';

const require = createRequire(import.meta.url);
const { Pool } = require('../../dist/index.js');

const spec = JSON.parse(process.argv[2]);
const BLOCK = 4096;
const emit = (result) => process.stdout.write(`${JSON.stringify(result)}\n`);
const name = (i) => `f${String(i).padStart(7, '0')}`;

/** Durable 4 KiB writeSync: overwrites of allocated blocks, or appends (size durable at return with sync). */
function write() {
  const pool = Pool.create(spec.path, { size: spec.poolBytes });
  const buf = payload(BLOCK);
  let result;
  if (spec.mode === 'overwrite') {
    const file = pool.open('data', { create: true });
    const chunk = payload(1 << 20);
    for (let at = 0; at < spec.fileBytes; at += chunk.length) file.writeSync(chunk, at);
    file.fsyncSync();
    const blocks = spec.fileBytes / BLOCK;
    const next = prng(spec.seed);
    result = timeSync((i) => {
      buf.writeUInt32LE(i, 0);
      file.writeSync(buf, Math.floor(next() * blocks) * BLOCK);
    }, spec);
    file.close();
  } else {
    const file = pool.open('log', { create: true, sync: spec.mode === 'append-sync' });
    const maxOps = Math.floor(spec.appendBytes / BLOCK);
    result = timeSync((i) => {
      buf.writeUInt32LE(i, 0);
      file.writeSync(buf, file.size);
    }, { ...spec, maxOps, warmupOps: Math.ceil(maxOps / 10) });
    file.close();
  }
  emit({ ...result, granularity: pool.info.granularity });
  pool.close();
}

/** A pool holding `n` empty files, created one by one (the rate is reported as the name space grows). */
function populate() {
  const pool = Pool.create(spec.path, { size: spec.poolBytes, journalBytes: spec.journalBytes });
  const t0 = performance.now();
  for (let i = 0; i < spec.n; i++) pool.open(name(i), { create: true, exclusive: true }).close();
  pool.sync();
  const ms = performance.now() - t0;
  pool.close();
  emit({ ms, perSec: (spec.n * 1000) / ms });
}

/**
 * timeSync of `op`, plus the longest single call (ms) after the warm-up (whose first calls compile): two more
 * clock reads per call, which the rate includes (tens of ns, small against the calls). `pool.stats().longestHoldMs`
 * goes with it, though it times only the promise methods' pieces (0 for these synchronous calls). The longest
 * call is attributed from V8's `gc` performance entries (pauses on the thread; incremental marking steps may
 * have none): `maxGcMs`, the collections' time inside it, and their kinds (`maxGcKinds`: minor is a scavenge,
 * major a mark-compact); `maxBesideGcMs`, the most any call took beside the collections inside it (calls over
 * 0.5 ms are kept for that).
 */
async function timeWithMax(pool, op, opts) {
  const gcs = [];
  const observer = new PerformanceObserver((list) => gcs.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  let maxMs = 0;
  let maxAt = 0;
  const slow = [];
  const measuredFrom = performance.now() + opts.warmupMs;
  const result = timeSync((i) => {
    const t0 = performance.now();
    op(i);
    const ms = performance.now() - t0;
    if (t0 < measuredFrom) return;
    if (ms > 0.5) slow.push(t0, ms);
    if (ms > maxMs) {
      maxMs = ms;
      maxAt = t0;
    }
  }, opts);
  // Entries are delivered a turn or two later; what is still queued then is taken.
  await new Promise((resolve) => setTimeout(resolve, 20));
  gcs.push(...observer.takeRecords());
  observer.disconnect();
  const inside = (t0, ms) => gcs.filter((e) => e.startTime < t0 + ms && e.startTime + e.duration > t0);
  const overlap = (e, t0, ms) => Math.min(e.startTime + e.duration, t0 + ms) - Math.max(e.startTime, t0);
  const gcMs = (t0, ms) => inside(t0, ms).reduce((sum, e) => sum + overlap(e, t0, ms), 0);
  let maxBesideGcMs = 0;
  for (let k = 0; k < slow.length; k += 2) maxBesideGcMs = Math.max(maxBesideGcMs, slow[k + 1] - gcMs(slow[k], slow[k + 1]));
  const kinds = [...new Set(inside(maxAt, maxMs).map((e) => GC_KINDS[e.detail?.kind] ?? `kind ${e.detail?.kind}`))];
  return { ...result, maxMs, maxGcMs: gcMs(maxAt, maxMs), maxGcKinds: kinds.join(', '), maxBesideGcMs, longestHoldMs: pool.stats().longestHoldMs };
}

/** perf_hooks' `gc` entry kinds (constants.NODE_PERFORMANCE_GC_*). */
const GC_KINDS = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks' };

/** create + close + unlink of fresh names in a pool already holding `n` files. */
async function churn() {
  const pool = Pool.open(spec.path);
  const result = await timeWithMax(pool, (i) => {
    const nm = `churn${i}`;
    pool.open(nm, { create: true, exclusive: true }).close();
    pool.unlink(nm);
  }, spec);
  pool.close();
  emit(result);
}

/**
 * Lookups by name of existing files, in random order: `exists`, the cheapest public call that goes through
 * the name index (`stat` does the same lookup and then builds its result object). First one timed pass over
 * the names drawn, in which most lookups read a page this process has not touched yet (`firstPassPerSec`),
 * then the timed loop over the same names again, every page they need touched once (the rates of a process
 * that has been serving for a while).
 */
async function lookup() {
  const pool = Pool.open(spec.path);
  // Names drawn beforehand, so that formatting them is not timed; 64 Ki of them spread over the whole pool.
  const next = prng(spec.seed);
  const names = Array.from({ length: 1 << 16 }, () => name(Math.floor(next() * spec.n)));
  let misses = 0;
  const t0 = performance.now();
  for (const nm of names) if (!pool.exists(nm)) misses++;
  const firstPassMs = performance.now() - t0;
  const result = await timeWithMax(pool, (i) => {
    if (!pool.exists(names[i & 0xffff])) misses++;
  }, spec);
  pool.close();
  if (misses > 0) throw new Error(`${misses} lookups of existing names missed`);
  emit({ ...result, firstPassPerSec: (names.length * 1000) / firstPassMs });
}

/** The first 100 names of a prefix: the pool's first listing (fresh open) and a second one. */
function list() {
  const pool = Pool.open(spec.path);
  const take = () => {
    const t0 = performance.now();
    const names = [...pool.list({ prefix: 'f00', limit: 100 })];
    const ns = (performance.now() - t0) * 1e6;
    if (names.length !== Math.min(100, spec.n)) throw new Error(`listed ${names.length} names`);
    return ns;
  };
  const firstNs = take();
  const secondNs = take();
  pool.close();
  emit({ firstNs, secondNs });
}

/**
 * `Pool.check(path)` (the pool walked on the media, never loaded), timed; then again for the most heap +
 * external it keeps above what the process held before: a GC at every 65,536th file, then a sample (live
 * memory, not garbage the collector had not reached yet). Needs --expose-gc.
 */
function check() {
  const usage = () => {
    global.gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const base = usage();
  const t0 = performance.now();
  const report = Pool.check(spec.path);
  const ns = (performance.now() - t0) * 1e6;
  if (!report.ok) throw new Error(`check found ${report.problems.length} problems: ${report.problems[0].what}`);
  let peak = 0;
  Pool.check(spec.path, {
    progress: (done) => {
      if ((done & 65535) === 0) peak = Math.max(peak, usage() - base);
    },
  });
  emit({ ns, perFileNs: ns / spec.n, peakBytes: peak });
}

/**
 * Heap held by the open pool: after a GC before the open and again after it (no file open). `external`
 * includes `arrayBuffers` (Node's definition), so heapUsed + external is the total. Needs --expose-gc.
 */
function heap() {
  global.gc();
  const before = process.memoryUsage();
  const pool = Pool.open(spec.path);
  global.gc();
  const after = process.memoryUsage();
  const files = pool.statfs().files;
  pool.close();
  emit({
    files,
    heapBytes: after.heapUsed - before.heapUsed,
    totalBytes: after.heapUsed + after.external - (before.heapUsed + before.external),
  });
}

/**
 * Changes that stay in the journal (creates, 4 KiB writes made durable with fsync, renames, unlinks: as many
 * files at the end as at the start), then SIGKILL: no close and no exit hook, so the next open replays them.
 */
function crash() {
  const pool = Pool.open(spec.path);
  const buf = payload(BLOCK);
  for (let i = 0; i < spec.changes; i++) {
    const file = pool.open(`crash${i}`, { create: true, exclusive: true });
    file.writeSync(buf, 0);
    file.fsyncSync();
    file.close();
    pool.rename(`crash${i}`, `crashed${i}`);
  }
  for (let i = 0; i < spec.changes; i++) pool.unlink(`crashed${i}`);
  emit({ records: pool.stats().records, checkpoints: pool.stats().checkpoints });
  process.kill(process.pid, 'SIGKILL');
}

function open() {
  const t0 = performance.now();
  const pool = Pool.open(spec.path);
  const ns = (performance.now() - t0) * 1e6;
  const files = pool.statfs().files;
  const { recovery } = pool.info;
  pool.close();
  if (files !== spec.n) throw new Error(`the pool holds ${files} files, not ${spec.n}`);
  emit({ ns, recovery });
}

const STEPS = { write, populate, churn, open, lookup, list, check, heap, crash, aged: () => emit(aged(Pool, spec)) };
if (!STEPS[spec.step]) throw new Error(`unknown step ${spec.step}`);
await STEPS[spec.step]();
