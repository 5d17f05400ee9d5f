// test-pmem -- runs the pmem vitest suite (test/pmem) inside a QEMU guest with emulated persistent memory.
//
// The guest is a busybox initramfs that mounts the host root read-only over 9p and chroots into it, so it
// runs this machine's node, node_modules and built addon. Its pmem is `memmap=1G!4G` carved out of guest
// RAM, and that RAM is a shared file: killing QEMU is a power cut whose survivors the next boot can read.
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
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import {
  appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const guestDir = join(root, 'test', 'pmem', 'guest');
const cacheDir = join(root, '.cache', 'pmem-guest');
const ALL_MEDIA = ['ext4-dax', 'xfs-dax', 'devdax-4k', 'devdax-2m'];
const POWERCUT_MEDIA = ['ext4-dax', 'devdax-2m'];
const RAM = '5G';
const MEMMAP = '1G!4G';
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
// Can the guest run here?

function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    const p = join(dir, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not in this directory
    }
  }
  return null;
}

function compareVersions(a, b) {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The newest /boot/vmlinuz-<ver> whose modules are installed, or the one PMEMDAX_GUEST_KERNEL names. */
function findKernel() {
  const forced = process.env.PMEMDAX_GUEST_KERNEL;
  const candidates = forced
    ? [forced]
    : (existsSync('/boot') ? readdirSync('/boot') : [])
      .filter((f) => f.startsWith('vmlinuz-'))
      .map((f) => join('/boot', f))
      .sort((a, b) => compareVersions(b, a));
  for (const image of candidates) {
    const version = image.replace(/^.*vmlinuz-/, '');
    if (existsSync(image) && existsSync(`/lib/modules/${version}/modules.dep`)) return { image, version };
  }
  return null;
}

function cannotRun() {
  if (process.env.PMEMDAX_SKIP_PMEM === '1') return 'PMEMDAX_SKIP_PMEM=1 is set';
  if (platform() !== 'linux' || arch() !== 'x64') return `the guest needs an x86-64 Linux host, this is ${platform()}/${arch()}`;
  if (process.getuid?.() !== 0) return 'not running as root (the guest reads the kernel image and shares the host root over 9p)';
  if (!which('qemu-system-x86_64')) return 'no qemu-system-x86_64 (apt-get install qemu-system-x86)';
  if (!findKernel()) return 'no kernel image with modules in /boot and /lib/modules (apt-get install linux-image-amd64)';
  const tools = [
    ['busybox', 'busybox-static'], ['cpio', 'cpio'], ['gzip', 'gzip'], ['modprobe', 'kmod'], ['ndctl', 'ndctl'],
    ['mkfs.ext4', 'e2fsprogs'], ['filefrag', 'e2fsprogs'], ['mkfs.xfs', 'xfsprogs'],
  ];
  const missing = tools.filter(([cmd]) => !which(cmd)).map(([, pkg]) => pkg);
  if (missing.length > 0) return `missing tools (apt-get install ${[...new Set(missing)].join(' ')})`;
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Host-side preparation

function fail(message, log) {
  process.stderr.write(`test-pmem: ${message}\n`);
  if (log) process.stderr.write(`test-pmem: guest log: ${log}\n`);
  process.exit(1);
}

/** The initramfs for this kernel, rebuilt when the build script, the init or the kernel changes. */
function initramfs(kernel) {
  const hash = createHash('sha256');
  for (const f of ['build-initramfs.sh', 'init']) hash.update(readFileSync(join(guestDir, f)));
  hash.update(kernel.version);
  hash.update(String(statSync(kernel.image).mtimeMs));
  const name = `initramfs-${hash.digest('hex').slice(0, 16)}.cpio.gz`;
  const out = join(cacheDir, name);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir, { recursive: true });
  for (const f of readdirSync(cacheDir)) if (f.startsWith('initramfs-')) rmSync(join(cacheDir, f), { force: true });
  const r = spawnSync('sh', [join(guestDir, 'build-initramfs.sh'), kernel.version, out], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) fail('building the guest initramfs failed');
  return out;
}

/** The guest's child processes load the library from dist/, like an application: build it on the host. */
function buildDist() {
  const require = createRequire(import.meta.url);
  const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root, stdio: 'inherit',
  });
  // tsc still emits on type errors; those are the typecheck's to report, and need not stop this suite.
  if (r.status !== 0 && !existsSync(join(root, 'dist', 'index.js'))) fail('tsc -p tsconfig.build.json failed');
  if (r.status !== 0) process.stderr.write('test-pmem: tsc reported errors (above); using the dist/ it emitted\n');
  if (!existsSync(join(root, 'build', 'Release', 'pmemdax.node'))) fail('build/Release/pmemdax.node is missing: run `npm run build` first');
}

/** A fresh run directory (log, RAM file, the guest's writable share); keeps the last few runs. */
function runDirectory() {
  const runs = join(cacheDir, 'runs');
  mkdirSync(runs, { recursive: true });
  const old = readdirSync(runs).sort();
  for (const d of old.slice(0, Math.max(0, old.length - 4))) rmSync(join(runs, d), { recursive: true, force: true });
  const dir = join(runs, new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(join(dir, 'job'), { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------------------------------
// Booting the guest

const children = new Set();
// The guest RAM file is sparse but can hold gigabytes once touched: never leave one behind.
const ramFiles = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const f of ramFiles) rmSync(f, { force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}

function qemuArgs(kernel, initrd, ramFile, jobDir, interactive) {
  return [
    '-machine', 'pc,memory-backend=ram0',
    '-object', `memory-backend-file,id=ram0,size=${RAM},mem-path=${ramFile},share=on`,
    '-cpu', 'max', '-smp', '2', '-m', RAM,
    ...(interactive ? ['-nographic'] : ['-display', 'none', '-monitor', 'none', '-serial', 'stdio']),
    '-nic', 'none', '-no-reboot',
    '-kernel', kernel.image, '-initrd', initrd,
    '-append', `console=ttyS0 memmap=${MEMMAP} panic=-1 oops=panic quiet loglevel=3`,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${jobDir},mount_tag=jobshare,security_model=none,multidevs=remap`,
  ];
}

function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** Leaves the job the guest's init runs: cd to the project, export `env`, run `command`. */
function writeJob(jobDir, env, command) {
  const lines = ['#!/bin/sh', `cd ${shellQuote(root)} || exit 1`, 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  for (const [k, v] of Object.entries(env)) lines.push(`export ${k}=${shellQuote(v)}`);
  lines.push(command, '');
  writeFileSync(join(jobDir, 'job.sh'), lines.join('\n'));
  rmSync(join(jobDir, 'exit-code'), { force: true });
}

/**
 * Boots the guest once. `onLine(line, kill)` sees every console line; guest output after the init's
 * READY marker is echoed (minus the writer's acks). Resolves when QEMU exits.
 */
// Runs of vitest in the guest whose runner process died by a signal and were repeated (suite.sh run_vitest).
const runnerWarnings = [];

function boot({ label, kernel, initrd, ramFile, jobDir, log, timeoutS, onLine, interactive = false }) {
  appendFileSync(log, `\n===== boot: ${label} (${new Date().toISOString()})\n`);
  const args = qemuArgs(kernel, initrd, ramFile, jobDir, interactive);
  appendFileSync(log, `qemu-system-x86_64 ${args.map(shellQuote).join(' ')}\n`);
  if (interactive) {
    const r = spawnSync('qemu-system-x86_64', args, { stdio: 'inherit' });
    return Promise.resolve({ status: r.status, signal: r.signal, killed: false, timedOut: false, sawDone: true });
  }
  return new Promise((resolveBoot) => {
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(qemu);
    let killed = false;
    let timedOut = false;
    let ready = false;
    let sawDone = false;
    const kill = () => {
      killed = true;
      qemu.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      qemu.kill('SIGKILL');
    }, timeoutS * 1000);
    let pending = '';
    // Chunks can split a multi-byte character; the decoder carries the partial bytes over.
    const decoder = new StringDecoder('utf8');
    const onData = (chunk) => {
      appendFileSync(log, chunk);
      pending += decoder.write(chunk);
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        if (line.startsWith('PMEMDAX-GUEST-READY')) ready = true;
        if (line.startsWith('PMEMDAX-GUEST-DONE')) sawDone = true;
        const died = /^PMEMDAX-GUEST RUNNER-DIED (\S+) (\d+)/.exec(line);
        if (died) {
          const warning = `vitest's runner on ${died[1]} died (exit ${died[2]}) before writing its report; that run was repeated whole`;
          runnerWarnings.push(warning);
          process.stdout.write(`test-pmem: warning: ${warning}\n`);
        }
        if (line.startsWith('PMEMDAX-GUEST-ERROR')) process.stdout.write(`${line}\n`);
        else if (ready && !/^PMEMDAX-(POOL-)?ACK |^PMEMDAX-GUEST-|^\[ *\d+\.\d+\] /.test(line)) {
          const marker = /^PMEMDAX-GUEST (MEDIUM|PREPARE-FAILED) (\S+)/.exec(line);
          if (marker) process.stdout.write(marker[1] === 'MEDIUM' ? `\n-- pmem medium: ${marker[2]}\n` : `test-pmem: preparing ${marker[2]} failed\n`);
          else if (!line.startsWith('PMEMDAX-GUEST ')) process.stdout.write(`${line}\n`);
        }
        onLine?.(line, kill);
      }
    };
    qemu.stdout.on('data', onData);
    qemu.stderr.on('data', (chunk) => appendFileSync(log, chunk));
    qemu.on('exit', (status, signal) => {
      clearTimeout(timer);
      children.delete(qemu);
      if (pending) appendFileSync(log, '\n');
      resolveBoot({ status, signal, killed, timedOut, sawDone });
    });
  });
}

function guestExitCode(jobDir) {
  try {
    return Number(readFileSync(join(jobDir, 'exit-code'), 'utf8').trim());
  } catch {
    return null;
  }
}

function createRamFile(path) {
  ramFiles.add(path);
  rmSync(path, { force: true });
  const fd = openSync(path, 'w');
  closeSync(fd);
  // Sparse: only the pages the guest touches take space.
  const r = spawnSync('truncate', ['-s', RAM, path]);
  if (r.status !== 0) fail(`cannot create the guest RAM file ${path}`);
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
  const kernel = findKernel();
  const initrd = initramfs(kernel);
  buildDist();
  const dir = runDirectory();
  const jobDir = join(dir, 'job');
  const log = join(dir, 'guest.log');
  const ramFile = join(dir, 'ram.img');
  writeFileSync(log, `pmemdax pmem guest run, kernel ${kernel.image}, initramfs ${initrd}\n`);
  createRamFile(ramFile);
  const color = process.stdout.isTTY ? { FORCE_COLOR: '1' } : { NO_COLOR: '1' };
  const baseEnv = { ...opts.env, PMEMDAX_JOB_DIR: '/run/pmem-job', CI: '1', ...color };
  const suite = shellQuote(relative(root, join(guestDir, 'suite.sh')));

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
  for (const c of children) c.kill('SIGKILL');
  process.stderr.write(`test-pmem: ${error?.stack ?? error}\n`);
  process.exit(1);
});
