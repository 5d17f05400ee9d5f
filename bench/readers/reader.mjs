// reader.mjs -- a reader of bench/readers: refreshes its snapshot of a pool a writer is changing, until
// SIGTERM; then prints {refreshes, meanUs, cpus} as JSON (cpus: the CPU time it used from its first refresh to
// its last, over that time: how much of a CPU it kept busy). `paceMs` 0 refreshes back to back (a turn of the event loop
// between two).
//   node reader.mjs <dist/index.js> <pool> <paceMs>
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises';

const [dist, path, paceMs] = process.argv.slice(2);
const { Pool } = createRequire(import.meta.url)(dist);
const pool = Pool.open(path, { readonly: true });
let refreshes = 0;
let spentMs = 0;
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});
console.log('ready');
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
while (!stopping) {
  const t = performance.now();
  pool.refresh();
  spentMs += performance.now() - t;
  refreshes++;
  // A turn of the event loop at least, so that the signal is seen.
  await (Number(paceMs) > 0 ? sleep(Number(paceMs)) : turn());
}
const cpu = process.cpuUsage(cpu0);
const cpus = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
pool.closeSync();
console.log(JSON.stringify({ refreshes, meanUs: (spentMs * 1000) / Math.max(1, refreshes), cpus }));
