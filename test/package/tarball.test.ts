// The package as a user gets it: `npm pack`, then `npm install <tarball>` offline into fresh apps with
// every compiler hidden from PATH, used from CommonJS, ESM and TypeScript.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, packDependencies, runtimeDependencies, tarballFiles, write, type Sandbox } from './support';

let box: Sandbox;
let app: string;
/** The package's dependencies as tarballs, so that every install below is offline. */
let runtime: string[];

// What the consumers below do with the library: a pool created, written, read back, reopened and checked.
const SMOKE_BODY = `
const path = join(process.argv[2], 'smoke.pool');
const text = new TextEncoder().encode('durable from the tarball');
const pool = Pool.open(path, { create: { size: 4 * 1024 * 1024 } });
try {
  const f = pool.open('notes', { create: true, sync: true });
  f.writeSync(text, 0);
  f.close();
  for (const name of ['\u{1F600}', 'caf\u00e9', 'na\u00efve']) pool.open(name, { create: true }).close();
} finally {
  pool.close();
}
const again = Pool.open(path);
try {
  const f = again.open('notes', { readonly: true });
  const back = new Uint8Array(f.size);
  f.readSync(back, 0);
  const report = again.check();
  // Listed from the names tree the close wrote, by the prebuilt addon's in-place scan.
  const names = [...again.list()];
  console.log(JSON.stringify({ text: new TextDecoder().decode(back), ok: report.ok, kind: again.info.kind, names }));
} finally {
  again.close();
}
`;

/** The smoke's names in the order a listing gives them: by code point. */
const SMOKE_NAMES = ['caf\u00e9', 'na\u00efve', 'notes', '\u{1F600}'];

const CONSUMER_TS = `
import { Device, Pool, PmemdaxError, isErrnoError, type PoolInfo } from 'pmemdax';
import { DaxFile, IomapType, type DaxFileHost, type IomapOps } from 'pmemdax/fs';
import { MemoryDevice } from 'pmemdax/testing';

export function describePool(path: string): string {
  const pool: Pool = Pool.open(path, { readonly: true });
  try {
    const info: PoolInfo = pool.info;
    return \`\${info.uuid} \${info.size}\`;
  } finally {
    pool.close();
  }
}

export function refusedByTypes(path: string): void {
  // @ts-expect-error a reader never creates: the reader half of the options union has no \`create\`
  Pool.open(path, { readonly: true, create: { size: 1 << 26 } });
}

export function classify(e: unknown): string {
  if (e instanceof PmemdaxError) return e.code;
  if (isErrnoError(e)) return e.code;
  return 'other';
}

export const kinds: readonly unknown[] = [Device, MemoryDevice, DaxFile];

export function mappable(host: DaxFileHost): IomapOps['begin'] {
  return host.ops.begin;
}

export const mapped: number = IomapType.MAPPED;
`;

function tsconfig(module: 'nodenext' | 'commonjs'): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module,
      moduleResolution: module === 'nodenext' ? 'nodenext' : 'node10',
      strict: true,
      // The strictest a consumer may be: the package's declarations must compile under it too.
      exactOptionalPropertyTypes: true,
      noEmit: true,
      types: ['node'],
    },
    files: module === 'nodenext' ? ['consumer.mts', 'consumer.cts'] : ['consumer.ts'],
  });
}

beforeAll(async () => {
  box = await makeSandbox();
  runtime = await packDependencies(runtimeDependencies(), join(box.dir, 'deps'));
  const typescript = await packDependencies(['typescript', '@types/node'], join(box.dir, 'deps'));
  app = box.app('consumer');
  const r = await box.npm(app, ['install', '--offline', box.tarball, ...runtime, ...typescript]);
  expect(r.status, `npm install failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
}, 300_000);

afterAll(() => box?.dispose());

describe('the packed tarball', () => {
  it('holds what the runtime needs and nothing from the tests, benchmarks or sources', async () => {
    const files = tarballFiles(box.tarball);
    for (const needed of [
      'package.json',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/fs.js',
      'dist/fs.d.ts',
      'dist/testing/index.js',
      'dist/testing/index.d.ts',
      'dist/cli/main.js',
      'prebuilds/linux-x64-glibc/pmemdax.node',
      'scripts/install.mjs',
      'binding.gyp',
      'native/addon.cpp',
      'native/device.h',
    ]) {
      expect(files, needed).toContain(needed);
    }
    const stray = files.filter((f) => /^(test|bench|lib|build|build-asan|\.cache|node_modules)\//.test(f) || f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(stray).toEqual([]);
  });

  it('ships what its documents link to: every relative link of README.md and docs/ resolves inside it', () => {
    const files = tarballFiles(box.tarball);
    const broken: string[] = [];
    for (const doc of files.filter((f) => f.endsWith('.md') && (f === 'README.md' || f.startsWith('docs/')))) {
      const text = readFileSync(join(app, 'node_modules', 'pmemdax', doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        const path = posix.normalize(posix.join(posix.dirname(doc), target));
        const found = target.endsWith('/') ? files.some((f) => f.startsWith(path)) : files.includes(path);
        if (!found) broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('installed offline with no compiler on PATH', () => {
  it('needs no build: the prebuilt addon is loaded and nothing was compiled', async () => {
    const pkg = join(app, 'node_modules', 'pmemdax');
    expect(existsSync(join(pkg, 'prebuilds', 'linux-x64-glibc', 'pmemdax.node'))).toBe(true);
    expect(existsSync(join(pkg, 'build'))).toBe(false);
    const r = await box.run(app, ['-e', "console.log(require('pmemdax').cpuInfo().flush)"]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^(clwb|clflushopt|clflush)$/);
  });

  it('works from CommonJS require, root, pmemdax/fs and pmemdax/testing', async () => {
    const entries = [
      "const root = require('pmemdax');",
      "const fs = require('pmemdax/fs');",
      "if (typeof fs.DaxFile !== 'function' || typeof fs.daxRead !== 'function' || fs.DaxRegion !== root.DaxRegion) throw new Error('pmemdax/fs is not the machinery');",
      "if ('DaxFile' in root || 'dax' in root || 'iomap' in root) throw new Error('the root carries the machinery');",
    ].join('\n');
    write(join(app, 'smoke.cjs'), `const { join } = require('node:path');\nconst { Pool } = require('pmemdax');\nconst testing = require('pmemdax/testing');\nif (typeof testing.MemoryDevice !== 'function') throw new Error('no MemoryDevice');\n${entries}\n${SMOKE_BODY}`);
    const r = await box.run(app, ['smoke.cjs', box.dir]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ text: 'durable from the tarball', ok: true, kind: 'file', names: SMOKE_NAMES });
  });

  it('works from ESM with named imports, root, pmemdax/fs and pmemdax/testing', async () => {
    rmSync(join(box.dir, 'smoke.pool'), { force: true });
    write(join(app, 'smoke.mjs'), `import { join } from 'node:path';\nimport { Pool } from 'pmemdax';\nimport { DaxFile, iomapFiemap } from 'pmemdax/fs';\nimport { MemoryDevice } from 'pmemdax/testing';\nimport pmemdax from 'pmemdax';\nif (typeof MemoryDevice !== 'function' || pmemdax.Pool !== Pool) throw new Error('exports differ');\nif (typeof DaxFile !== 'function' || typeof iomapFiemap !== 'function') throw new Error('no pmemdax/fs');\n${SMOKE_BODY}`);
    const r = await box.run(app, ['smoke.mjs', box.dir]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ text: 'durable from the tarball', ok: true, kind: 'file', names: SMOKE_NAMES });
  });

  it.each(['nodenext', 'commonjs'] as const)('type-checks a TypeScript consumer under module %s', async (module) => {
    const dir = join(app, `ts-${module}`);
    if (module === 'nodenext') {
      write(join(dir, 'consumer.mts'), CONSUMER_TS);
      write(join(dir, 'consumer.cts'), CONSUMER_TS);
    } else {
      write(join(dir, 'consumer.ts'), CONSUMER_TS);
    }
    write(join(dir, 'tsconfig.json'), tsconfig(module));
    const r = await box.run(dir, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs the command-line tool through its bin link', async () => {
    const cli = join(app, 'node_modules', '.bin', 'pmemdax');
    const r = await box.run(app, [cli, 'probe']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/kind:\s+file/);
    const version = await box.run(app, [cli, '--version']);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(app, 'node_modules', 'pmemdax', 'package.json'), 'utf8')) as { version: string }).version);
  });
});

describe('where the install script may run', () => {
  it('uses the prebuild and compiles nothing, with no compiler on PATH', async () => {
    const allowed = box.app('allowed', { allowScripts: { pmemdax: true } });
    const r = await box.npm(allowed, ['install', '--offline', '--foreground-scripts', box.tarball, ...runtime]);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('pmemdax: using the prebuilt addon for linux-x64 (glibc)');
    expect(existsSync(join(allowed, 'node_modules', 'pmemdax', 'build'))).toBe(false);
    const smoke = await box.run(allowed, ['-e', "console.log(typeof require('pmemdax').Pool.open)"]);
    expect(smoke.stdout.trim()).toBe('function');
  });
});

describe('where no prebuild fits', () => {
  it('says in one sentence what to run, then `npm rebuild pmemdax` builds from source', async () => {
    const bare = box.app('no-prebuild', { allowScripts: { pmemdax: true } });
    const r = await box.npm(bare, ['install', '--offline', '--ignore-scripts', box.tarball, ...runtime]);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    rmSync(join(bare, 'node_modules', 'pmemdax', 'prebuilds'), { recursive: true });
    const probe = "try { require('pmemdax'); console.log('loaded') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }";
    const failed = await box.run(bare, ['-e', probe]);
    const error = JSON.parse(failed.stdout) as { code: string; message: string };
    expect(error.code).toBe('ERR_PMEMDAX_ADDON');
    expect(error.message).toContain('npm rebuild pmemdax');
    expect(error.message).not.toMatch(/Tried:|→/);
    const rebuilt = await box.npm(bare, ['rebuild', '--offline', '--foreground-scripts', 'pmemdax'], box.fullEnv);
    expect(rebuilt.status, `${rebuilt.stdout}\n${rebuilt.stderr}`).toBe(0);
    expect(existsSync(join(bare, 'node_modules', 'pmemdax', 'build', 'Release', 'pmemdax.node'))).toBe(true);
    expect((await box.run(bare, ['-e', probe])).stdout.trim()).toBe('loaded');
  }, 300_000);
});
