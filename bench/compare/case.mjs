// case.mjs -- one contender running one workload in its own process; prints one JSON line.
//
//   node case.mjs '<spec as JSON>'
//
// spec: { contender: 'fs'|'lmdb'|'pool', dir, step: 'prepare'|'measure'|'fill'|'reopen', workload, size,
//         dataBytes, warmupMs, budgetMs, maxOps, appendBytes, records, recordSize, batch, clients, seed }
import { performance } from 'node:perf_hooks';
import { payload } from '../common/data.mjs';
import { chunkMaker, recordBatches } from './data.mjs';
import { prng, timeClients, timeSync } from '../common/measure.mjs';

const spec = JSON.parse(process.argv[2]);
const contender = await import(`./contenders/${spec.contender}.mjs`);

function emit(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Durable writes at random record-aligned offsets of the data set. */
function writeRandom(store, s) {
  const buf = payload(s.size, s.seed);
  const slots = store.slots(s.size, s.dataBytes);
  const next = prng(s.seed);
  return timeSync((i) => {
    buf.writeUInt32LE(i, 0);
    store.write(s.size, Math.floor(next() * slots), buf);
  }, s);
}

function readRandom(store, s) {
  const buf = Buffer.alloc(s.size);
  const slots = store.slots(s.size, s.dataBytes);
  const next = prng(s.seed);
  return timeSync(() => store.read(s.size, Math.floor(next() * slots), buf), s);
}

function sequential(store, s, write) {
  const buf = write ? payload(s.size, s.seed) : Buffer.alloc(s.size);
  const slots = store.slots(s.size, s.dataBytes);
  const op = write ? (i) => store.write(s.size, i % slots, buf) : (i) => store.read(s.size, i % slots, buf);
  return timeSync(op, s);
}

/** Durable appends to a fresh file (or key range), bounded by `appendBytes` so the medium does not fill. */
function append(store, s) {
  const buf = payload(s.size, s.seed);
  const add = store.appender(s.size);
  const maxOps = Math.max(1, Math.min(s.maxOps, Math.floor(s.appendBytes / s.size)));
  return timeSync((i) => {
    buf.writeUInt32LE(i, 0);
    add(buf);
  }, { ...s, maxOps, warmupOps: Math.ceil(maxOps / 10) });
}

/** `clients` async loops, each op a read or a durable update (even odds) of a random record. */
function mixed(store, s) {
  const slots = store.slots(s.size, s.dataBytes);
  const next = prng(s.seed);
  const bufs = Array.from({ length: s.clients }, (_, c) => payload(s.size, s.seed + c));
  return timeClients(s.clients, (c) => {
    const index = Math.floor(next() * slots);
    return next() < 0.5 ? store.readAsync(s.size, index, bufs[c]) : store.writeAsync(s.size, index, bufs[c]);
  }, s);
}

const WORKLOADS = {
  'write-rand': writeRandom,
  'read-rand': readRandom,
  'seq-write': (store, s) => sequential(store, s, true),
  'seq-read': (store, s) => sequential(store, s, false),
  append,
  mixed,
};

switch (spec.step) {
  case 'prepare': {
    const t0 = performance.now();
    contender.prepare(spec.dir, spec.dataBytes, chunkMaker(spec.seed));
    emit({ ms: performance.now() - t0, describe: contender.describe() });
    break;
  }
  case 'measure': {
    const run = WORKLOADS[spec.workload];
    if (run === undefined) throw new Error(`unknown workload ${spec.workload}`);
    const store = await contender.open(spec.dir);
    // A fresh process has not touched the data yet (the pool's and lmdb's mappings would fault on first
    // use); read it all once so that every contender is measured warm, as a running server would be.
    if (spec.workload !== 'append') store.warm(spec.size, spec.dataBytes);
    const result = await run(store, spec);
    const info = store.info();
    await store.close();
    emit({ ...result, info });
    break;
  }
  case 'fill': {
    const t0 = performance.now();
    contender.fillRecords(spec.dir, spec.records, spec.recordSize, spec.batch, recordBatches(spec.recordSize, spec.batch));
    emit({ ms: performance.now() - t0 });
    break;
  }
  case 'reopen': {
    const t0 = performance.now();
    const first = contender.reopen(spec.dir, spec.records, spec.recordSize);
    const ns = (performance.now() - t0) * 1e6;
    if (first !== ((spec.records - 1) & 0xff)) throw new Error(`the last record reads back wrong (${first})`);
    emit({ ns });
    break;
  }
  default:
    throw new Error(`unknown step ${spec.step}`);
}
