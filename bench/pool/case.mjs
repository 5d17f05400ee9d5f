// case.mjs -- one pool measurement in its own process (fresh JIT and heap); prints one JSON line.
//
//   node case.mjs '<spec as JSON>'
//
// steps: write (mode overwrite | append | append-sync), populate, churn, open.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { prng, timeSync } from '../common/measure.mjs';
import { payload } from '../common/data.mjs';

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
  const pool = Pool.create(spec.path, { size: spec.poolBytes });
  const t0 = performance.now();
  for (let i = 0; i < spec.n; i++) pool.open(name(i), { create: true, exclusive: true }).close();
  pool.sync();
  const ms = performance.now() - t0;
  pool.close();
  emit({ ms, perSec: (spec.n * 1000) / ms });
}

/** create + close + unlink of fresh names in a pool already holding `n` files. */
function churn() {
  const pool = Pool.open(spec.path);
  const result = timeSync((i) => {
    const nm = `churn${i}`;
    pool.open(nm, { create: true, exclusive: true }).close();
    pool.unlink(nm);
  }, spec);
  pool.close();
  emit(result);
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

const STEPS = { write, populate, churn, open };
if (!STEPS[spec.step]) throw new Error(`unknown step ${spec.step}`);
STEPS[spec.step]();
