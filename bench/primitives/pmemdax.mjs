// pmemdax.mjs -- the pmemdax contender of the primitives benchmark: the public Device API from dist/,
// called from JavaScript exactly as an application would.
//
//   node pmemdax.mjs FILE SPAN BUDGET_MS OP:SIZE...
//
// Same protocol, rotation, warm-up and batching as libpmem_harness.c, so the two differ only in the
// library under test.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Device } = require('../../dist/index.js');

const MAX_BATCHES = 4000;
const WARMUP_NS = 30e6;
const BATCH_NS = 1e6;

const [file, spanArg, budgetArg, ...ops] = process.argv.slice(2);
const span = Number(spanArg);
const budgetNs = Number(budgetArg) * 1e6;

const device = Device.open(file);
if (device.size < span) throw new Error(`${file} is ${device.size} bytes, smaller than the span ${span}`);
const { view, pages } = device.directAccess(0, span / 4096);
if (pages * 4096 < span) throw new Error(`one window covers ${pages} pages, fewer than the span`);
// Fault every page in before timing; the C contenders do the same.
view.fill(0);

const now = () => Number(process.hrtime.bigint());
const stepFor = (size) => Math.max(size, 4096);

// Each returns the next slot; kept monomorphic per operation so the JIT sees one call site each.
function copyOps(src, size, n, slot) {
  const step = stepFor(size);
  const slots = Math.floor(span / step);
  for (let i = 0; i < n; i++) {
    device.copy(slot * step, src);
    if (++slot === slots) slot = 0;
  }
  return slot;
}

function persistOps(src, size, n, slot) {
  const step = stepFor(size);
  const slots = Math.floor(span / step);
  for (let i = 0; i < n; i++) {
    // The store both contenders make to dirty the line before persisting it.
    view[slot * step] = i;
    device.persist(slot * step, size);
    if (++slot === slots) slot = 0;
  }
  return slot;
}

function measure(op, size) {
  const run = op === 'copy' ? copyOps : persistOps;
  const src = new Uint8Array(size);
  for (let i = 0; i < size; i++) src[i] = (i * 31 + 7) & 0xff;
  let slot = 0;
  let perBatch = 1;
  let start = now();
  while (now() - start < WARMUP_NS) {
    const t0 = now();
    slot = run(src, size, perBatch, slot);
    if (now() - t0 < BATCH_NS / 2) perBatch *= 2;
  }
  const means = [];
  start = now();
  while (means.length < MAX_BATCHES && (means.length < 5 || now() - start < budgetNs)) {
    const t0 = now();
    slot = run(src, size, perBatch, slot);
    means.push((now() - t0) / perBatch);
  }
  return { op, size, perBatch, means: means.map((m) => Math.round(m * 1000) / 1000) };
}

process.stdout.write(`${JSON.stringify({ contender: 'pmemdax', info: device.info })}\n`);
for (const spec of ops) {
  const [op, sizeText] = spec.split(':');
  const size = Number(sizeText);
  if ((op !== 'copy' && op !== 'persist') || !(size > 0)) throw new Error(`bad operation ${spec}`);
  process.stdout.write(`${JSON.stringify(measure(op, size))}\n`);
}
device.close();
