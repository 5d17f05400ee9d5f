// rig -- the QEMU guest with emulated persistent memory, as used by scripts/test-pmem.mjs (the pmem
// suite and power cuts) and bench/compare/guest.mjs (the comparison on ext4-dax): finding a kernel, the
// cached initramfs, the run directory and RAM file, the job the guest runs, and booting it.
//
// The guest is a busybox initramfs that mounts the host root read-only over 9p and chroots into it, so it
// runs this machine's node, node_modules and built addon. Its pmem is `memmap=1G!4G` carved out of guest
// RAM, and that RAM is a shared file: killing QEMU is a power cut whose survivors the next boot can read.
// What the guest does is suite.sh beside this file, told by the job file the host leaves in its share;
// build-initramfs.sh and init make the guest itself.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const guestDir = dirname(fileURLToPath(import.meta.url));
export const root = resolve(guestDir, '..', '..');
const cacheDir = join(root, '.cache', 'pmem-guest');
export const RAM = '5G';
export const MEMMAP = '1G!4G';
export const CPU = 'max';
const SMP = 2;
// Where the guest's init mounts the job share (init, beside this file).
export const JOB_DIR_IN_GUEST = '/run/pmem-job';

// The prefix of this process's messages (the script that imported this module).
let name = 'test-pmem';

export function logAs(prefix) {
  name = prefix;
}

export function fail(message, log) {
  process.stderr.write(`${name}: ${message}\n`);
  if (log) process.stderr.write(`${name}: guest log: ${log}\n`);
  process.exit(1);
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

/** Why the guest cannot run on this host, or null. */
export function cannotRun() {
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

/** The initramfs for this kernel, rebuilt when the build script, the init or the kernel changes. */
function initramfs(kernel) {
  const hash = createHash('sha256');
  for (const f of ['build-initramfs.sh', 'init']) hash.update(readFileSync(join(guestDir, f)));
  hash.update(kernel.version);
  hash.update(String(statSync(kernel.image).mtimeMs));
  const file = `initramfs-${hash.digest('hex').slice(0, 16)}.cpio.gz`;
  const out = join(cacheDir, file);
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
  // tsc still emits on type errors; those are the typecheck's to report, and need not stop the guest.
  if (r.status !== 0 && !existsSync(join(root, 'dist', 'index.js'))) fail('tsc -p tsconfig.build.json failed');
  if (r.status !== 0) process.stderr.write(`${name}: tsc reported errors (above); using the dist/ it emitted\n`);
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
  killGuests();
  for (const f of ramFiles) rmSync(f, { force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killGuests();
    process.exit(130);
  });
}

export function killGuests() {
  for (const c of children) c.kill('SIGKILL');
}

function qemuArgs(kernel, initrd, ramFile, jobDir, interactive) {
  return [
    '-machine', 'pc,memory-backend=ram0',
    '-object', `memory-backend-file,id=ram0,size=${RAM},mem-path=${ramFile},share=on`,
    '-cpu', CPU, '-smp', String(SMP), '-m', RAM,
    ...(interactive ? ['-nographic'] : ['-display', 'none', '-monitor', 'none', '-serial', 'stdio']),
    '-nic', 'none', '-no-reboot',
    '-kernel', kernel.image, '-initrd', initrd,
    '-append', `console=ttyS0 memmap=${MEMMAP} panic=-1 oops=panic quiet loglevel=3`,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${jobDir},mount_tag=jobshare,security_model=none,multidevs=remap`,
  ];
}

export function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** Leaves the job the guest's init runs: cd to the project, export `env`, run `command`. */
/** suite.sh as the guest names it: relative to the project root, quoted for the job's shell. */
export const suiteScript = shellQuote(relative(root, join(guestDir, 'suite.sh')));

export function writeJob(jobDir, env, command) {
  const lines = ['#!/bin/sh', `cd ${shellQuote(root)} || exit 1`, 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  for (const [k, v] of Object.entries(env)) lines.push(`export ${k}=${shellQuote(v)}`);
  lines.push(command, '');
  writeFileSync(join(jobDir, 'job.sh'), lines.join('\n'));
  rmSync(join(jobDir, 'exit-code'), { force: true });
}

// Runs of vitest in the guest whose runner process died by a signal and were repeated (suite.sh run_vitest).
export const runnerWarnings = [];

/**
 * Boots the guest once. `onLine(line, kill)` sees every console line; guest output after the init's
 * READY marker is echoed (minus the writer's acks). Resolves when QEMU exits.
 */
export function boot({ label, kernel, initrd, ramFile, jobDir, log, timeoutS, onLine, interactive = false }) {
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
          process.stdout.write(`${name}: warning: ${warning}\n`);
        }
        if (line.startsWith('PMEMDAX-GUEST-ERROR')) process.stdout.write(`${line}\n`);
        else if (ready && !/^PMEMDAX-(POOL-)?ACK |^PMEMDAX-GUEST-|^\[ *\d+\.\d+\] /.test(line)) {
          const marker = /^PMEMDAX-GUEST (MEDIUM|PREPARE-FAILED) (\S+)/.exec(line);
          if (marker) process.stdout.write(marker[1] === 'MEDIUM' ? `\n-- pmem medium: ${marker[2]}\n` : `${name}: preparing ${marker[2]} failed\n`);
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

/** The exit code of the guest's job, or null when it did not get that far. */
export function guestExitCode(jobDir) {
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

/** Everything a boot needs, set up once per run: kernel, initramfs, dist/, run directory, log and RAM file. */
export function setUpRun() {
  const kernel = findKernel();
  const initrd = initramfs(kernel);
  buildDist();
  const dir = runDirectory();
  const jobDir = join(dir, 'job');
  const log = join(dir, 'guest.log');
  const ramFile = join(dir, 'ram.img');
  writeFileSync(log, `pmemdax pmem guest run, kernel ${kernel.image}, initramfs ${initrd}\n`);
  createRamFile(ramFile);
  return { kernel, initrd, dir, jobDir, log, ramFile };
}
