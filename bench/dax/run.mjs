// DAX layer microbenchmarks: daxWrite/daxRead against the bare device copy they are built on, and
// entry grab/release. Each contender runs in its own process; results are a markdown table of ratios.
//
//   npm run bench:dax -- [--device memory|<path>] [--rounds 3] [--dist dist]
//
// `--device memory` (the default) uses the in-memory test device; a path opens the native Device over
// that file or device (created at 208 MiB if missing), so the same cases run on pmem.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const device = opt('device', 'memory');
const rounds = Number(opt('rounds', '3'));
const dist = path.resolve(opt('dist', path.join(here, '..', '..', 'dist')));
if (!existsSync(path.join(dist, 'dax', 'index.js'))) {
  console.error(`no compiled library in ${dist}: run \`npm run build:ts\` first`);
  process.exit(1);
}

/** [contender, baseline] pairs; a baseline of null is reported as a rate only. */
const CASES = [
  ['write-sync:4k', 'copy:4k'],
  ['write:4k', 'copy:4k'],
  ['write-sync:1m', 'copy:1m'],
  ['write:1m', 'copy:1m'],
  ['read:4k', 'copy-safe:4k'],
  ['read:1m', 'copy-safe:1m'],
  ['grab', null],
];

// Contenders and baselines alternate, `rounds` times each, and the best time of each counts: on a
// shared machine that is the least disturbed measurement.
const results = new Map();
const once = (name) => {
  const out = execFileSync(process.execPath, [path.join(here, 'case.mjs'), name, device, dist], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop());
  const best = results.get(name);
  if (best === undefined || r.ns < best.ns) results.set(name, r);
};
for (let i = 0; i < rounds; i++) {
  for (const [name, baseline] of CASES) {
    once(name);
    if (baseline !== null) once(baseline);
  }
}
const run = (name) => results.get(name);

const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
console.log(`pmemdax DAX layer benchmarks — device: ${device}, node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}\n`);
console.log('| operation | time per op | throughput | baseline | baseline time | ratio |');
console.log('|---|---|---|---|---|---|');
for (const [name, baseline] of CASES) {
  const r = run(name);
  const rate = r.bytes > 0 ? `${((r.bytes / r.ns) * 1e3).toFixed(0)} MB/s` : `${(1e9 / r.ns / 1e6).toFixed(2)} M ops/s`;
  if (baseline === null) {
    console.log(`| ${name} (grab + unlock) | ${fmt(r.ns)} | ${rate} | — | — | — |`);
    continue;
  }
  const b = run(baseline);
  console.log(`| ${name} | ${fmt(r.ns)} | ${rate} | device ${baseline} | ${fmt(b.ns)} | ${(r.ns / b.ns).toFixed(2)}× |`);
}
console.log('\nwrite = daxWrite (async), write-sync = daxWriteSync; copy = device.copy (durable on return); copy-safe = device.copySafe.');
