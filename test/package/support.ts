// The consumer's side of the package: pack it as a publisher would, then install it into fresh apps the
// way a user would, offline and with every compiler out of reach.
import { execFileSync, spawn as spawnChild } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export const root = join(__dirname, '..', '..');

/** npm's own entry script, run with this node so PATH need not hold anything else. */
function npmCli(): string {
  const fromEnv = process.env.npm_execpath;
  if (fromEnv !== undefined && /npm-cli\.js$/.test(fromEnv)) return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      const cli = realpathSync(join(dir, 'npm'));
      if (cli.endsWith('.js')) return cli;
    } catch {
      // not in this directory
    }
  }
  throw new Error('npm was not found on PATH');
}

export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

// Asynchronous, so the test worker keeps answering its runner during a long install or type-check.
function spawn(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawnChild(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 280_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface Sandbox {
  readonly dir: string;
  readonly tarball: string;
  /** A PATH holding `node` and `sh` alone: no cc, c++, make or python3. */
  readonly bareEnv: NodeJS.ProcessEnv;
  /** This machine's PATH, compilers included (for the build-from-source fallback). */
  readonly fullEnv: NodeJS.ProcessEnv;
  npm(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Ran>;
  run(cwd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Ran>;
  /** A new app directory with a package.json (plus `extra` fields). */
  app(name: string, extra?: Record<string, unknown>): string;
  dispose(): void;
}

// Only what npm and node need: a compiler found through CC, CXX or PYTHON must not count.
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['HOME', 'LANG', 'TMPDIR', 'USER', 'npm_config_cache', 'npm_config_userconfig'];
  const env: NodeJS.ProcessEnv = {};
  for (const key of keep) if (process.env[key] !== undefined) env[key] = process.env[key];
  env.npm_config_audit = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_update_notifier = 'false';
  return env;
}

/** `npm pack` in `cwd` (its lifecycle scripts too, unless `ignoreScripts`): the tarball's path. */
async function pack(cwd: string, dest: string, ignoreScripts: boolean): Promise<string> {
  const args = [npmCli(), 'pack', '--silent', '--pack-destination', dest, ...(ignoreScripts ? ['--ignore-scripts'] : [])];
  const r = await spawn(cwd, process.execPath, args, process.env);
  if (r.status !== 0) throw new Error(`npm pack in ${cwd} failed:\n${r.stdout}\n${r.stderr}`);
  return join(dest, r.stdout.trim().split('\n').pop() as string);
}

export async function makeSandbox(): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'pmemdax-package-'));
  const cli = npmCli();
  const tarball = await pack(root, dir, false);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  // npm runs lifecycle scripts through sh; a shell compiles nothing.
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const bareEnv = { ...baseEnv(), PATH: bin };
  const fullEnv = { ...baseEnv(), PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
  return {
    dir,
    tarball,
    bareEnv,
    fullEnv,
    npm: (cwd, args, env = bareEnv) => spawn(cwd, process.execPath, [cli, ...args], env),
    run: (cwd, args, env = bareEnv) => spawn(cwd, process.execPath, args, env),
    app(name, extra = {}) {
      const app = join(dir, name);
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...extra }, null, 2));
      return app;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

interface Manifest {
  readonly dependencies?: Record<string, string>;
}

function manifestOf(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/**
 * `names` and everything they depend on, packed from this checkout's node_modules into `dest`: an install
 * of these tarballs asks no registry, not even for metadata.
 */
export function packDependencies(names: readonly string[], dest: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    queue.push(...Object.keys(manifestOf(join(root, 'node_modules', name)).dependencies ?? {}));
  }
  mkdirSync(dest, { recursive: true });
  return Promise.all([...seen].map((name) => pack(join(root, 'node_modules', name), dest, true)));
}

/** The runtime dependencies the package declares. */
export function runtimeDependencies(): string[] {
  return Object.keys(manifestOf(root).dependencies ?? {});
}

export function tarballFiles(tarball: string): string[] {
  return execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^package\//, ''));
}

/** Every file under `dir`, relative to it. */
export function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(dir, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}

export function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
