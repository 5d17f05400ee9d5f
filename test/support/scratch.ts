import { afterEach, beforeEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

export const MiB = 1024 * 1024;

/** The two host media: an ordinary file on the disk, and a file on tmpfs (/dev/shm). */
export const HOST_MEDIA = [
  { name: 'disk file', dir: () => tmpdir() },
  { name: '/dev/shm file', dir: () => '/dev/shm' },
] as const;

/** A fresh directory under `base`, removed by the returned cleanup. */
export function scratchDir(base: string = tmpdir()): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(base, 'pmemdax-test-'));
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A scratch directory made before each test of the calling block and removed after it: `dir` and `file`
 * always name the current test's directory.
 */
export function scratchPerTest(base?: string): { readonly dir: string; file: (name: string) => string } {
  let current: ReturnType<typeof scratchDir> | null = null;
  beforeEach(() => {
    current = scratchDir(base);
  });
  afterEach(() => {
    current?.cleanup();
    current = null;
  });
  const now = (): ReturnType<typeof scratchDir> => {
    if (current === null) throw new Error('scratchPerTest: used outside a test');
    return current;
  };
  return {
    get dir() {
      return now().dir;
    },
    file: (name) => now().file(name),
  };
}

/** Runs `fn` with environment variables set (the addon reads them when a device is opened). */
export function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const root = join(__dirname, '..', '..');

/**
 * Runs a CommonJS script in a child node process with the library at `pmemdax` (the TypeScript sources
 * are loaded through the built dist/ when present, else the addon alone is used by the script itself).
 */
export function runNode(script: string, args: string[] = [], options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...(options.nodeArgs ?? []), '-e', script, '--', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: 60_000,
  });
}

export const PROJECT_ROOT = root;
