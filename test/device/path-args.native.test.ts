// Every API and CLI command that takes a path refuses a NUL byte, an empty string or a non-string before
// touching anything: the native side sees a C string, so 'notes.txt\0.pool' would name 'notes.txt'.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../lib/cli/args';
import { findCommand } from '../../lib/cli/registry';
import { Device, Pool } from '../../lib';
import { MiB, scratchDir } from '../support/scratch';
import { runCli } from '../support/cli-run';

/** Each API entry point that takes a path, with options that would create, grow, format or write. */
const APIS: readonly { name: string; call: (path: unknown) => unknown }[] = [
  { name: 'Device.open', call: (p) => Device.open(p as string) },
  { name: 'Device.open create', call: (p) => Device.open(p as string, { create: true, size: MiB }) },
  { name: 'Device.open grow', call: (p) => Device.open(p as string, { size: 2 * MiB }) },
  { name: 'Device.open readonly', call: (p) => Device.open(p as string, { readonly: true }) },
  { name: 'Device.open locked', call: (p) => Device.open(p as string, { lock: 'exclusive' }) },
  { name: 'Pool.create size', call: (p) => Pool.create(p as string, { size: MiB }) },
  { name: 'Pool.create force', call: (p) => Pool.create(p as string, { force: true }) },
  { name: 'Pool.create size force', call: (p) => Pool.create(p as string, { size: 2 * MiB, force: true }) },
  { name: 'Pool.open', call: (p) => Pool.open(p as string) },
  { name: 'Pool.open readonly', call: (p) => Pool.open(p as string, { readonly: true }) },
  { name: 'Pool.open create', call: (p) => Pool.open(p as string, { create: { size: MiB } }) },
];

/** How each bad path is refused. `file` is an existing file, `missing` a name with nothing behind it. */
const BAD_PATHS: readonly { name: string; path: (file: string, missing: string) => unknown; error: object }[] = [
  { name: 'NUL after an existing file', path: (f) => `${f}\0.pool`, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' } },
  { name: 'NUL after a missing name', path: (_f, m) => `${m}\0.pool`, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' } },
  { name: 'NUL in the middle', path: (f) => `${f.slice(0, -2)}\0${f.slice(-2)}`, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' } },
  { name: 'a lone NUL', path: () => '\0', error: { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' } },
  { name: 'empty', path: () => '', error: { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' } },
  { name: 'a number', path: () => 42, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } },
  { name: 'undefined', path: () => undefined, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } },
  { name: 'null', path: () => null, error: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } },
  { name: 'a Buffer', path: (f) => Buffer.from(f), error: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } },
  { name: 'an object', path: (f) => ({ toString: () => f }), error: { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' } },
];

const CONTENT = Buffer.from('notes that must survive\n'.repeat(200));

describe('path arguments of the API', () => {
  let s: ReturnType<typeof scratchDir>;
  let file: string;
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    file = s.file('notes.txt');
    writeFileSync(file, CONTENT);
  });
  afterEach(() => s.cleanup());

  const rows = APIS.flatMap((api) => BAD_PATHS.map((bad) => ({ api: api.name, call: api.call, bad: bad.name, path: bad.path, error: bad.error })));
  it.each(rows)('$api with $bad: refused, nothing touched', ({ call, path, error }) => {
    const before = statSync(file);
    let thrown: unknown;
    try {
      call(path(file, s.file('missing')));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown).toMatchObject(error);
    const after = statSync(file);
    expect(readFileSync(file).equals(CONTENT)).toBe(true);
    expect([after.size, after.mode, after.mtimeMs]).toEqual([before.size, before.mode, before.mtimeMs]);
    expect(readdirSync(s.dir)).toEqual(['notes.txt']);
  });
});

/** Each command with its path positional(s) set to `p` (and the other arguments well-formed). */
const COMMANDS: readonly { name: string; args: (p: string, pool: string) => string[] }[] = [
  { name: 'mkfs', args: (p) => ['mkfs', p, '--size', '1M'] },
  { name: 'mkfs --force', args: (p) => ['mkfs', p, '--force'] },
  { name: 'info', args: (p) => ['info', p] },
  { name: 'check', args: (p) => ['check', p] },
  { name: 'ls', args: (p) => ['ls', p] },
  { name: 'stat', args: (p) => ['stat', p, 'f'] },
  { name: 'cat', args: (p) => ['cat', p, 'f'] },
  { name: 'fiemap', args: (p) => ['fiemap', p, 'f'] },
  { name: 'badblocks', args: (p) => ['badblocks', p] },
  { name: 'put', args: (p) => ['put', p, 'f', '-'] },
  { name: 'put input', args: (p, pool) => ['put', pool, 'f', p] },
  { name: 'rm', args: (p) => ['rm', p, 'f'] },
  { name: 'probe', args: (p) => ['probe', p] },
];

describe('path arguments of the CLI', () => {
  let s: ReturnType<typeof scratchDir>;
  let file: string;
  let pool: string;
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    file = s.file('notes.txt');
    pool = s.file('pool');
    writeFileSync(file, CONTENT);
  });
  afterEach(() => s.cleanup());

  // A NUL cannot reach a process through exec, so the parse step each command runs first is checked here.
  it.each(COMMANDS)('$name: a NUL in the path is ERR_INVALID_ARG_VALUE at parse time', ({ args }) => {
    const [name, ...rest] = args(`${file}\0.pool`, pool);
    expect(() => parseArgs(findCommand(name as string), rest)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it.each(COMMANDS)('$name: an empty path exits 2 (ERR_INVALID_ARG_VALUE) and touches nothing', async ({ args }) => {
    Pool.create(pool, { size: MiB }).closeSync();
    const poolBytes = readFileSync(pool);
    const r = await runCli(args('', pool), { cwd: s.dir });
    expect(r.signal).toBeNull();
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/\(ERR_INVALID_ARG_VALUE\)/);
    expect(readFileSync(file).equals(CONTENT)).toBe(true);
    expect(readFileSync(pool).equals(poolBytes)).toBe(true);
    expect(readdirSync(s.dir).sort()).toEqual(['notes.txt', 'pool']);
    expect(existsSync(s.file('f'))).toBe(false);
  });
});
