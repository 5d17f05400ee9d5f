// Fault-path benchmarks: pmemdax regions (read fault, write fault, write trap, writeback per dirty
// page) beside the same operations done by the kernel on the same machine (first touch of a shared
// mapping of a /dev/shm file, msync). Each contender runs in its own process; contenders alternate
// over `--rounds` rounds and the best time counts. Prints a markdown table of ratios.
//
//   npm run bench:faults -- [--rounds 3] [--dist dist]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, dist: { type: 'string', default: path.join(here, '..', '..', 'dist') } },
});
const dist = path.resolve(args.dist);
if (!existsSync(path.join(dist, 'vm', 'file.js'))) {
  console.error(`no compiled library in ${dist}: run \`npm run build:ts\` first`);
  process.exit(1);
}

const ROWS = [
  ['read fault', 'pmemdax:read-fault', 'kernel:read-fault', 'first load of a page of a /dev/shm mapping (fault-around maps 16 pages per fault)'],
  ['write fault (allocating)', 'pmemdax:write-fault', 'kernel:write-fault', 'first store to a page of a sparse /dev/shm file'],
  ['write trap', 'pmemdax:write-trap', 'kernel:write-trap', 'first store after msync to a page of a disk file (page_mkwrite)'],
  ['writeback per dirty page', 'pmemdax:writeback', 'kernel:writeback', 'msync(MS_SYNC) of dirty /dev/shm pages'],
  ['writeback per dirty page', 'pmemdax:writeback', 'kernel:writeback-disk', 'msync(MS_SYNC) of dirty pages of a disk file'],
];

const shm = mkdtempSync('/dev/shm/pmemdax-bench-');
const disk = mkdtempSync(path.join(os.tmpdir(), 'pmemdax-bench-'));
const best = new Map();
try {
  const names = [...new Set(ROWS.flatMap(([, a, b]) => [a, b]))];
  for (let i = 0; i < Number(args.rounds); i++) {
    for (const name of names) {
      const out = execFileSync(process.execPath, [path.join(here, 'case.mjs'), name, dist, shm, disk], { encoding: 'utf8' });
      const { ns } = JSON.parse(out.trim().split('\n').pop());
      if (!(best.get(name) <= ns)) best.set(name, ns);
    }
  }
} finally {
  rmSync(shm, { recursive: true, force: true });
  rmSync(disk, { recursive: true, force: true });
}

const fmt = (ns) => (ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
console.log(`pmemdax fault benchmarks — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${os.release()}`);
console.log('pmemdax: MemFs on a native Device over a /dev/shm file, 4 KiB pages (huge: false), 1024 pages per run.\n');
console.log('| operation | pmemdax per page | kernel per page | ratio | kernel operation |');
console.log('|---|---|---|---|---|');
for (const [label, ours, theirs, what] of ROWS) {
  const a = best.get(ours);
  const b = best.get(theirs);
  console.log(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${(a / b).toFixed(1)}× | ${what} |`);
}
