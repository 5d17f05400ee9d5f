// persistAsync against persist for a 4 KiB NOFLUSH copy: at page granularity on a disk file (msync waits for
// the disk) and on /dev/shm (msync has almost nothing to wait for, so async − sync is the thread hop), and at
// cacheline granularity (forced) on /dev/shm, where persistAsync runs inline. Each case in its own process;
// cases alternate over `--rounds` and the best median counts. Prints a markdown table.
//
//   npm run bench:persist-async -- [--rounds 3] [--budget 1000] [--dist dist]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatNs, formatRate } from '../common/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    budget: { type: 'string', default: '1000' },
    dist: { type: 'string', default: path.join(here, '..', '..', 'dist') },
  },
});
const dist = path.resolve(args.dist);
if (!existsSync(path.join(dist, 'device', 'device.js'))) {
  console.error(`no compiled library in ${dist}: run \`npm run build:ts\` first`);
  process.exit(1);
}

const MEDIA = [
  { label: 'page, disk file', dir: () => mkdtempSync(path.join(os.tmpdir(), 'pmemdax-bench-')), env: {} },
  { label: 'page, /dev/shm', dir: () => mkdtempSync('/dev/shm/pmemdax-bench-'), env: { PMEMDAX_FORCE_GRANULARITY: 'page' } },
  { label: 'cacheline (forced), /dev/shm', dir: () => mkdtempSync('/dev/shm/pmemdax-bench-'), env: { PMEMDAX_FORCE_GRANULARITY: 'cacheline' } },
];
const MODES = ['sync', 'async', 'async-8'];

const dirs = MEDIA.map((m) => m.dir());
const best = new Map();
try {
  for (let r = 0; r < Number(args.rounds); r++) {
    MEDIA.forEach((medium, m) => {
      for (const mode of MODES) {
        const out = execFileSync(process.execPath, [path.join(here, 'case.mjs'), mode, dist, dirs[m], args.budget], {
          encoding: 'utf8',
          env: { ...process.env, PMEMDAX_FORCE_GRANULARITY: '', ...medium.env },
        });
        const result = JSON.parse(out.trim().split('\n').pop());
        const key = `${m}:${mode}`;
        if (!(best.get(key)?.median <= result.median)) best.set(key, result);
      }
    });
  }
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

console.log(`pmemdax persistAsync — node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${os.release()}`);
console.log('4 KiB copy with NOFLUSH, then persist(offset, 4096) or await persistAsync([offset, 4096]); best median of the rounds.\n');
console.log('| medium | persist (sync) | persistAsync, 1 caller | async − sync | persistAsync, 8 callers (latency) | 8 callers, ops/s |');
console.log('|---|---|---|---|---|---|');
MEDIA.forEach((medium, m) => {
  const sync = best.get(`${m}:sync`);
  const one = best.get(`${m}:async`);
  const eight = best.get(`${m}:async-8`);
  const hop = one.median - sync.median;
  console.log(
    `| ${medium.label} (${sync.granularity}) | ${formatNs(sync.median)} | ${formatNs(one.median)} | ${hop < 0 ? '−' : '+'}${formatNs(Math.abs(hop))} | ${formatNs(eight.median)} | ${formatRate(eight.opsPerSec)} |`,
  );
});
