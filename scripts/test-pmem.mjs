// test-pmem -- runs the pmem vitest suite (test/**/*.pmem.test.ts) inside a QEMU guest with emulated persistent memory
// (scripts/guest/rig.mjs: the guest, its pmem and how the host talks to it).
//
// Boots, one per power cut and one for the suite: (1) the power-cut workloads on ext4-dax (the raw-device
// writer and the pool writer), killed with SIGKILL once each has a number of acknowledged operations;
// (2) the check of that cut, then the pool writer on devdax-2m, killed likewise; (3) the check of that
// cut, then the suite on ext4-dax, xfs-dax, devdax-4k, devdax-2m.
//
// Usage: node scripts/test-pmem.mjs [--media ext4-dax,xfs-dax,...] [--powercut-media ext4-dax,...]
//                                   [--no-powercut] [--keep] [--env NAME=VALUE]... [--shell [medium]]
//                                   [-- <vitest args>]
// --env sets a variable for everything the guest runs (the writers and vitest), e.g. PMEMDAX_NO_MAP_SYNC=1.
// Environment: PMEMDAX_SKIP_PMEM=1 skips; PMEMDAX_REQUIRE_PMEM=1 turns "cannot run here" into a failure;
// PMEMDAX_GUEST_KERNEL=/boot/vmlinuz-<ver> picks the kernel; PMEMDAX_POWERCUT_ACKS=<n> and
// PMEMDAX_POWERCUT_POOL_OPS=<n> fix the cut points, PMEMDAX_POWERCUT_SEED=<n> the pool workload;
// PMEMDAX_RESULTS_DIR receives pmem.json, the merged vitest report.
import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  JOB_DIR_IN_GUEST, boot, cannotRun, fail, guestExitCode, killGuests, runnerWarnings, setUpRun, shellQuote, suiteScript,
  writeJob,
} from './guest/rig.mjs';

const ALL_MEDIA = ['ext4-dax', 'xfs-dax', 'devdax-4k', 'devdax-2m'];
const POWERCUT_MEDIA = ['ext4-dax', 'devdax-2m'];
const SUITE_TIMEOUT_S = Number(process.env.PMEMDAX_GUEST_TIMEOUT ?? 720);
const WRITER_TIMEOUT_S = 240;
// A boot that first checks the previous power cut runs one more vitest (minutes under TCG on a busy host).
const CHECK_TIMEOUT_S = 360;

// ---------------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const opts = { media: ALL_MEDIA, powercutMedia: POWERCUT_MEDIA, keep: false, shell: null, vitestArgs: [], env: {} };
  const mediaList = (arg) => {
    const list = (arg ?? '').split(',').filter(Boolean);
    const unknown = list.filter((m) => !ALL_MEDIA.includes(m));
    if (unknown.length > 0 || list.length === 0) usage(`unknown medium: ${unknown.join(', ') || '(none)'}`);
    return list;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      opts.vitestArgs = argv.slice(i + 1);
      break;
    } else if (a === '--media') {
      opts.media = mediaList(argv[++i]);
    } else if (a === '--powercut-media') {
      opts.powercutMedia = mediaList(argv[++i]);
    } else if (a === '--env') {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(argv[++i] ?? '');
      if (!m) usage('--env needs NAME=VALUE');
      opts.env[m[1]] = m[2];
    } else if (a === '--no-powercut') {
      opts.powercutMedia = [];
    } else if (a === '--keep') {
      opts.keep = true;
    } else if (a === '--shell') {
      const next = argv[i + 1];
      opts.shell = next !== undefined && ALL_MEDIA.includes(next) ? argv[++i] : 'ext4-dax';
    } else {
      usage(`unknown argument ${a}`);
    }
  }
  return opts;
}

function usage(message) {
  process.stderr.write(`test-pmem: ${message}\n` +
    'usage: test-pmem.mjs [--media ' + ALL_MEDIA.join(',') + '] [--powercut-media ' + POWERCUT_MEDIA.join(',') + ']\n' +
    '                     [--no-powercut] [--env NAME=VALUE]... [--keep] [--shell [medium]] [-- vitest args]\n');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------
// Reports

function readReport(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** One vitest-shaped JSON report for `npm test`'s totals, with each medium's results labelled. */
function mergeReports(named) {
  const merged = {
    numTotalTestSuites: 0, numPassedTestSuites: 0, numFailedTestSuites: 0, numPendingTestSuites: 0,
    numTotalTests: 0, numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0,
    startTime: Date.now(), success: true, testResults: [],
  };
  for (const [medium, report] of named) {
    for (const k of Object.keys(merged)) if (typeof merged[k] === 'number' && k !== 'startTime') merged[k] += report[k] ?? 0;
    merged.success &&= report.success !== false;
    for (const r of report.testResults ?? []) merged.testResults.push({ ...r, name: `[${medium}] ${r.name}` });
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------------
// Power cuts

/** The variables that tell the guest what the last cut acknowledged, for its check. */
function checkEnv(pending) {
  if (!pending) return {};
  return {
    ...(pending.raw !== null ? { PMEMDAX_POWERCUT_ACKED: String(pending.raw) } : {}),
    PMEMDAX_POWERCUT_POOL_SEED: String(pending.seed),
    PMEMDAX_POWERCUT_POOL_ACKED: String(pending.pool),
  };
}

/**
 * One boot: check the previous cut (if any), then run the workloads on `medium` and kill QEMU once each
 * has its random number of acknowledged operations. Returns the cut to check next, or the problem.
 */
async function powerCut({ medium, pending, kernel, initrd, ramFile, jobDir, log, baseEnv, suite }) {
  const envNumber = (name, fallback) => Number(process.env[name] ?? fallback);
  // The raw-device writer runs on ext4-dax only, as it always has: mounted commit=60, MAP_SYNC alone makes
  // its file's blocks durable in time.
  const targets = { pool: envNumber('PMEMDAX_POWERCUT_POOL_OPS', randomInt(30, 151)) };
  if (medium === 'ext4-dax') targets.raw = envNumber('PMEMDAX_POWERCUT_ACKS', randomInt(40, 121));
  const seed = envNumber('PMEMDAX_POWERCUT_SEED', randomInt(2 ** 31));
  const what = Object.entries(targets).map(([k, n]) => `${n} ${k === 'raw' ? 'raw-device records' : 'pool operations'}`).join(' and ');
  process.stdout.write(`\n-- pmem power cut on ${medium}: QEMU gets SIGKILL after ${what} are acknowledged (pool seed ${seed})\n`);
  writeJob(jobDir, { ...baseEnv, ...checkEnv(pending), PMEMDAX_POOL_WRITER_SEED: String(seed) },
    `exec sh ${suite} powercut ${medium}${pending ? ` verify ${pending.medium}` : ''}`);
  const last = { raw: -1, pool: -1 };
  let stopped = null;
  const r = await boot({
    label: `power cut on ${medium}`, kernel, initrd, ramFile, jobDir, log,
    timeoutS: WRITER_TIMEOUT_S + (pending ? CHECK_TIMEOUT_S : 0),
    onLine: (line, kill) => {
      const m = /^PMEMDAX-(POOL-)?ACK (\d+)/.exec(line);
      if (m) {
        last[m[1] ? 'pool' : 'raw'] = Number(m[2]);
        if (Object.entries(targets).every(([k, n]) => last[k] + 1 >= n)) kill();
      } else if (/^PMEMDAX-WORKLOAD-FAILED |^PMEMDAX-GUEST WRITER-EXITED /.test(line) || line === `PMEMDAX-GUEST PREPARE-FAILED ${medium}`) {
        stopped ??= line.replace(/^PMEMDAX-(GUEST )?/, '');
        kill();
      }
    },
  });
  const seen = `${last.raw + 1} raw-device records and ${last.pool + 1} pool operations acknowledged`;
  if (!r.killed || stopped !== null) {
    return { pending: null, problem: `power cut on ${medium}: ${stopped ?? (r.timedOut ? 'timed out' : 'the guest stopped')} (${seen})` };
  }
  process.stdout.write(`power cut on ${medium} after ${targets.raw !== undefined ? `raw-device record ${last.raw} and ` : ''}pool operation ${last.pool} were acknowledged\n`);
  return { pending: { medium, raw: targets.raw !== undefined ? last.raw : null, pool: last.pool, seed } };
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const reason = cannotRun();
  if (reason) {
    if (process.env.PMEMDAX_REQUIRE_PMEM === '1') fail(`pmem suite cannot run: ${reason} (PMEMDAX_REQUIRE_PMEM=1)`);
    process.stdout.write(`pmem suite skipped: ${reason}\n`);
    process.exit(0);
  }
  const started = Date.now();
  const { kernel, initrd, jobDir, log, ramFile } = setUpRun();
  const color = process.stdout.isTTY ? { FORCE_COLOR: '1' } : { NO_COLOR: '1' };
  const baseEnv = { ...opts.env, PMEMDAX_JOB_DIR: JOB_DIR_IN_GUEST, CI: '1', ...color };
  const suite = suiteScript;

  if (opts.shell) {
    process.stdout.write(`pmem guest shell on ${opts.shell} (exit the shell to power off; Ctrl-A X kills QEMU)\n`);
    writeJob(jobDir, baseEnv, `exec sh ${suite} shell ${opts.shell}`);
    await boot({ label: 'shell', kernel, initrd, ramFile, jobDir, log, timeoutS: 0, interactive: true });
    rmSync(ramFile, { force: true });
    return 0;
  }

  const problems = [];
  // The cut whose check is still to run: its medium, and what the host saw acknowledged before the kill.
  let pending = null;
  const checked = [];
  for (const medium of opts.powercutMedia) {
    const cut = await powerCut({ medium, pending, kernel, initrd, ramFile, jobDir, log, baseEnv, suite });
    if (pending) checked.push(`powercut-${pending.medium}`);
    pending = cut.pending;
    if (cut.problem) problems.push(cut.problem);
  }

  const env = { ...baseEnv, ...checkEnv(pending), PMEMDAX_VITEST_ARGS: opts.vitestArgs.map(shellQuote).join(' ') };
  writeJob(jobDir, env, `exec sh ${suite} run ${pending ? `verify ${pending.medium} ` : ''}${opts.media.join(' ')}`);
  if (pending) checked.push(`powercut-${pending.medium}`);
  const suiteTimeoutS = SUITE_TIMEOUT_S + (pending ? CHECK_TIMEOUT_S : 0);
  const r = await boot({ label: 'suite', kernel, initrd, ramFile, jobDir, log, timeoutS: suiteTimeoutS });
  rmSync(ramFile, { force: true });
  if (r.timedOut) problems.push(`the guest did not finish within ${suiteTimeoutS} s`);
  else if (!r.sawDone) problems.push('the guest stopped before its job finished');
  const code = guestExitCode(jobDir);
  if (code !== 0 && code !== null) problems.push(`the guest job exited with ${code}`);

  const runs = [...checked, ...opts.media];
  const reports = [];
  for (const name of runs) {
    const report = readReport(join(jobDir, `report-${name}.json`));
    if (!report) {
      problems.push(`no vitest report from ${name}`);
      continue;
    }
    reports.push([name, report]);
  }
  const merged = mergeReports(reports);
  if (process.env.PMEMDAX_RESULTS_DIR) {
    mkdirSync(process.env.PMEMDAX_RESULTS_DIR, { recursive: true });
    writeFileSync(join(process.env.PMEMDAX_RESULTS_DIR, 'pmem.json'), JSON.stringify(merged));
  }

  process.stdout.write('\n pmem suite in the guest\n');
  for (const [name, rep] of reports) {
    process.stdout.write(`   ${name.padEnd(18)} ${rep.numPassedTests} passed, ${rep.numFailedTests} failed, ${rep.numPendingTests + (rep.numTodoTests ?? 0)} skipped\n`);
  }
  const skipped = merged.numPendingTests + merged.numTodoTests;
  process.stdout.write(`   Tests              ${merged.numPassedTests} passed, ${merged.numFailedTests} failed, ${skipped} skipped (${merged.numTotalTests})\n`);
  process.stdout.write(`   Duration           ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  if (merged.numFailedTests > 0 || !merged.success) problems.push(`${merged.numFailedTests} tests failed`);
  for (const w of runnerWarnings) process.stdout.write(`test-pmem: warning: ${w} (guest log: ${log})\n`);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`test-pmem: ${p}\n`);
    process.stderr.write(`test-pmem: guest log: ${log}\n`);
    return 1;
  }
  if (!opts.keep) rmSync(jobDir, { recursive: true, force: true });
  return 0;
}

main().then((code) => process.exit(code), (error) => {
  killGuests();
  process.stderr.write(`test-pmem: ${error?.stack ?? error}\n`);
  process.exit(1);
});
