// writer.mjs -- the writer of bench/readers: one workload on a pool for a fixed time, in its own process;
// prints {ops, seconds, faults} as JSON (faults: the minor page faults of the timed part). Uses only the public API, so a build from before readers existed runs it too.
//   node writer.mjs <dist/index.js> <pool> <workload: files|append> <ms>
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const [dist, path, workload, ms] = process.argv.slice(2);
const { Pool } = createRequire(import.meta.url)(dist);
const KEEP = 256;
const data = Buffer.alloc(4096, 0x5a);
const pool = Pool.open(path);

// files: create, a synced 4 KiB write, close, and the unlink of the file made KEEP ops before (a freeing
// commit, which a writer with readers defers). append: a synced 4 KiB append to one file (a free only when
// the file is replaced, every 64 MiB). overwrite: a synced 4 KiB overwrite at a random block of a 64 MiB file
// (in place without readers; with readers, copied on write and the old block freed once they let go).
// Each is made only when chosen: what it sets up (a file, 64 MiB of data) stays out of the others' pools.
const ops = {
  files: () => (i) => {
    const f = pool.open(`w${i}`, { create: true, sync: true });
    f.writeSync(data, 0);
    f.close();
    if (i >= KEEP) pool.unlink(`w${i - KEEP}`);
  },
  append: () => {
    let log = pool.open('log', { create: true, sync: true });
    let size = 0;
    return () => {
      // A new log every 64 MiB, so that the pool never fills.
      if (size >= 64 * 1024 * 1024) {
        log.close();
        pool.unlink('log');
        log = pool.open('log', { create: true, sync: true });
        size = 0;
      }
      log.appendSync(data);
      size += data.length;
    };
  },
  overwrite: () => {
    const blocks = 16384;
    const f = pool.open('data', { create: true, sync: true });
    for (let b = 0; b < blocks; b += 256) f.writeSync(Buffer.alloc(256 * 4096, 0x11), b * 4096);
    let x = 12345;
    return () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      f.writeSync(data, (x % blocks) * 4096);
    };
  },
};
const op = ops[workload]();
let i = 0;
const warm = performance.now() + 300;
while (performance.now() < warm) op(i++);
const faults0 = process.resourceUsage().minorPageFault;
const t0 = performance.now();
const stop = t0 + Number(ms);
let n = 0;
while (performance.now() < stop) {
  for (let k = 0; k < 64; k++) op(i++);
  n += 64;
}
const seconds = (performance.now() - t0) / 1000;
const faults = process.resourceUsage().minorPageFault - faults0;
pool.closeSync();
console.log(JSON.stringify({ ops: n, seconds, faults }));
