// One contender of the fault benchmarks in its own process: prints one JSON line {name, ns} with the
// best time per page over `reps` fresh setups.
// Usage: node bench/faults/case.mjs <case> <dist dir> <scratch dir> <disk dir>
import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [, , name, distArg, shmDir, diskDir] = process.argv;
const require = createRequire(import.meta.url);
const dist = path.resolve(distArg);
const { Device } = require(path.join(dist, 'device/device.js'));
const { MemFs, memFsFile } = require(path.join(dist, 'testing/index.js'));

const PAGE = 4096;
const PAGES = 1024;
const BYTES = PAGES * PAGE;
const REPS = 7;

const now = () => process.hrtime.bigint();
const perPage = (t0) => Number(now() - t0) / PAGES;

/** A file of `bytes` at `p`, filled with data (or left sparse). */
function makeFile(p, bytes, data) {
  rmSync(p, { force: true });
  const fd = openSync(p, 'w+');
  if (data) writeSync(fd, new Uint8Array(bytes).fill(1), 0, bytes, 0);
  else ftruncateSync(fd, bytes);
  closeSync(fd);
}

/** pmemdax: a MemFs on a fresh native device, one file of PAGES pages (data or hole), one region. */
async function pmemdaxBed(data) {
  const p = path.join(shmDir, 'pmemdax-dev');
  makeFile(p, BYTES * 3, false);
  const device = Device.open(p);
  const fs = new MemFs(device);
  const inode = fs.create();
  if (data) await fs.write(inode, 0, new Uint8Array(BYTES).fill(1));
  else await fs.truncate(inode, BYTES);
  const file = memFsFile(fs, inode);
  const region = file.mmap({ length: BYTES, huge: false });
  return { device, file, region, close: () => { file.close(); device.close(); } };
}

/** kernel: a shared mapping of a fresh file (the native Device maps it whole, without MAP_POPULATE). */
function kernelBed(dir, data) {
  const p = path.join(dir, 'kernel-file');
  makeFile(p, BYTES, data);
  const device = Device.open(p);
  const view = device.directAccess(0, PAGES).view;
  return { device, view, close: () => device.close() };
}

const CASES = {
  async 'pmemdax:read-fault'() {
    const b = await pmemdaxBed(true);
    const t0 = now();
    await b.region.populate();
    const ns = perPage(t0);
    b.close();
    return ns;
  },
  async 'kernel:read-fault'() {
    const b = kernelBed(shmDir, true);
    let sum = 0;
    const t0 = now();
    for (let p = 0; p < PAGES; p++) sum += b.view[p * PAGE];
    const ns = perPage(t0);
    b.close();
    if (sum !== PAGES) throw new Error('bad read');
    return ns;
  },
  async 'pmemdax:write-fault'() {
    const b = await pmemdaxBed(false);
    const t0 = now();
    await b.region.populate({}, 'write');
    for (let p = 0; p < PAGES; p++) b.region.bytes[p * PAGE] = 1;
    const ns = perPage(t0);
    b.close();
    return ns;
  },
  async 'kernel:write-fault'() {
    const b = kernelBed(shmDir, false);
    const t0 = now();
    for (let p = 0; p < PAGES; p++) b.view[p * PAGE] = 1;
    const ns = perPage(t0);
    b.close();
    return ns;
  },
  async 'pmemdax:write-trap'() {
    const b = await pmemdaxBed(true);
    await b.region.populate({}, 'write');
    await b.file.fsync();
    const t0 = now();
    for (let p = 0; p < PAGES; p++) b.region.bytes[p * PAGE] = 2;
    b.file.harvest();
    const ns = perPage(t0);
    if (b.file.stats.writeTraps !== PAGES) throw new Error(`expected ${PAGES} traps, saw ${b.file.stats.writeTraps}`);
    b.close();
    return ns;
  },
  async 'kernel:write-trap'() {
    // A disk file: after msync its pages are write-protected and the next store takes page_mkwrite.
    const b = kernelBed(diskDir, true);
    for (let p = 0; p < PAGES; p++) b.view[p * PAGE] = 2;
    b.device.flush(0, BYTES);
    const t0 = now();
    for (let p = 0; p < PAGES; p++) b.view[p * PAGE] = 3;
    const ns = perPage(t0);
    b.close();
    return ns;
  },
  async 'pmemdax:writeback'() {
    const b = await pmemdaxBed(true);
    await b.region.populate({}, 'write');
    for (let p = 0; p < PAGES; p++) b.region.bytes[p * PAGE] = 2;
    const t0 = now();
    await b.file.fsync();
    const ns = perPage(t0);
    if (b.file.stats.writebackEntries !== PAGES) throw new Error('not every page was flushed');
    b.close();
    return ns;
  },
  async 'kernel:writeback'() {
    const b = kernelBed(shmDir, true);
    for (let p = 0; p < PAGES; p++) b.view[p * PAGE] = 2;
    const t0 = now();
    b.device.flush(0, BYTES);
    const ns = perPage(t0);
    b.close();
    return ns;
  },
  async 'kernel:writeback-disk'() {
    const b = kernelBed(diskDir, true);
    b.device.flush(0, BYTES);
    for (let p = 0; p < PAGES; p++) b.view[p * PAGE] = 2;
    const t0 = now();
    b.device.flush(0, BYTES);
    const ns = perPage(t0);
    b.close();
    return ns;
  },
};

const fn = CASES[name];
if (fn === undefined) throw new Error(`unknown case ${name}`);
let best = Infinity;
for (let i = 0; i < REPS; i++) best = Math.min(best, await fn());
console.log(JSON.stringify({ name, ns: best }));
