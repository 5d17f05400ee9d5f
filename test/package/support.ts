// The consumer's side of the package: pack it as a publisher would, then install it into fresh apps the
// way a user would, offline and with every compiler out of reach.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
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

export interface Sandbox {
  readonly dir: string;
  readonly tarball: string;
  /** A PATH holding `node` alone: no cc, c++, make or python3. */
  readonly bareEnv: NodeJS.ProcessEnv;
  /** This machine's PATH, compilers included (for the build-from-source fallback). */
  readonly fullEnv: NodeJS.ProcessEnv;
  npm(cwd: string, args: string[], env?: NodeJS.ProcessEnv): SpawnSyncReturns<string>;
  run(cwd: string, args: string[], env?: NodeJS.ProcessEnv): SpawnSyncReturns<string>;
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

export function makeSandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'pmemdax-package-'));
  const cli = npmCli();
  const packed = execFileSync(process.execPath, [cli, 'pack', '--silent', '--pack-destination', dir], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const tarball = join(dir, packed.trim().split('\n').pop() as string);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const bareEnv = { ...baseEnv(), PATH: bin };
  const fullEnv = { ...baseEnv(), PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
  const spawn = (cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> =>
    spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 280_000 });
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

/** The version of a package this checkout has installed (so an offline install finds it in the cache). */
export function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
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
