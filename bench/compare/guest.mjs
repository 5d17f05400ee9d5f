// guest.mjs -- `npm run bench:compare:guest`: the comparison of run.mjs inside the pmem QEMU guest
// (scripts/guest/rig.mjs), every contender on ext4-dax. The guest's suite.sh runs `run.mjs --plan guest`,
// which leaves its results as JSON in the job share; this reads them, prints the ratios to fs and writes
// them to docs/benchmark.md. It runs the guest once, in a few minutes.
//
//   node bench/compare/guest.mjs [--only a,b] [--workloads w1,w2] [--no-write] [--doc FILE]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CPU, JOB_DIR_IN_GUEST, MEMMAP, RAM, boot, cannotRun, fail, guestExitCode, logAs, root, setUpRun,
  shellQuote, suiteScript, writeJob,
} from '../../scripts/guest/rig.mjs';
import { writeSection } from '../common/doc.mjs';
import { cpuModel } from '../common/env.mjs';
import { guestSection, tally } from './guest-doc.mjs';

// Well above what the run takes (about 5 minutes on 2 busy cores), so that only a hung guest hits it.
const TIMEOUT_S = 900;
const NAME = 'bench:compare:guest';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    workloads: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    doc: { type: 'string', default: join(root, 'docs/benchmark.md') },
  },
});
const log = (m) => process.stderr.write(`${NAME}: ${m}\n`);

logAs(NAME);
const reason = cannotRun();
if (reason) fail(`the pmem guest cannot run here: ${reason}`);

const { kernel, initrd, jobDir, log: guestLog, ramFile } = setUpRun();
const forward = [...(args.only ? ['--only', args.only] : []), ...(args.workloads ? ['--workloads', args.workloads] : [])];
const suite = suiteScript;
writeJob(jobDir, { PMEMDAX_JOB_DIR: JOB_DIR_IN_GUEST, PMEMDAX_BENCH_ARGS: forward.map(shellQuote).join(' ') },
  `exec sh ${suite} bench ext4-dax`);
log(`booting the guest (log: ${guestLog})`);
const started = Date.now();
const loadBefore = os.loadavg()[0];
const r = await boot({ label: 'bench on ext4-dax', kernel, initrd, ramFile, jobDir, log: guestLog, timeoutS: TIMEOUT_S });
const seconds = (Date.now() - started) / 1000;
const load = [loadBefore, os.loadavg()[0]];
rmSync(ramFile, { force: true });

const results = join(jobDir, 'bench.json');
if (r.timedOut) fail(`the guest did not finish within ${TIMEOUT_S} s`, guestLog);
if (!existsSync(results)) {
  const code = guestExitCode(jobDir);
  fail(`the guest left no results: ${code === null ? 'it stopped before its job finished' : `its job exited with ${code}`}`, guestLog);
}
const run = JSON.parse(readFileSync(results, 'utf8'));
const qemu = execFileSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' }).split('\n')[0].replace(/\s*\(.*\)$/, '');
const gib = (size) => size.replace(/G$/, ' GiB');
const body = guestSection(run, {
  cpu: `${cpuModel()}, ${os.cpus().length} logical CPUs`, qemu, cpuModel: CPU,
  ram: gib(RAM), pmem: gib(MEMMAP.split('!')[0]), memmap: MEMMAP, seconds, load,
});
process.stdout.write(`\n${body}`);
if (!args['no-write']) {
  const docPath = resolve(args.doc);
  writeSection(docPath, 'bench:compare-guest', body);
  log(`wrote ${docPath}`);
}
const { cases, produced, problems } = tally(run);
log(`${produced} of ${cases} cases produced results in ${(seconds / 60).toFixed(1)} min (results: ${results})`);
process.exit(problems.length === 0 && guestExitCode(jobDir) === 0 ? 0 : 1);
