import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Device, Pool } from '../../lib';
import { runNode, PROJECT_ROOT, scratchDir } from '../support/scratch';

const MiB = 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function scratch(): ReturnType<typeof scratchDir> {
  const s = scratchDir('/dev/shm');
  cleanups.push(s.cleanup);
  return s;
}

function withPool<T>(pool: Pool, use: (p: Pool) => T): T {
  try {
    return use(pool);
  } finally {
    pool.closeSync();
  }
}

/** A pool at `path` holding one file, `keep`. */
function poolWithFile(path: string, size = 2 * MiB): void {
  withPool(Pool.create(path, { size }), (p) => p.open('keep', { create: true, sync: true }).writeSync(Buffer.from('kept'), 0));
}

type Existing = 'missing' | 'empty' | 'zeros' | 'data' | 'pool';
const PREPARE: Record<Existing, (path: string) => void> = {
  missing: () => undefined,
  empty: (path) => writeFileSync(path, ''),
  zeros: (path) => writeFileSync(path, Buffer.alloc(MiB)),
  data: (path) => writeFileSync(path, Buffer.alloc(MiB, 'not a pool ')),
  pool: (path) => poolWithFile(path),
};

describe('Pool.create over what is at the path', () => {
  // [what is there, force, outcome]: a new empty pool, or the error code (and the file left as it was).
  const table: readonly (readonly [Existing, boolean, string])[] = [
    ['missing', false, 'formatted'],
    ['missing', true, 'formatted'],
    ['empty', false, 'formatted'],
    ['empty', true, 'formatted'],
    ['zeros', false, 'formatted'],
    ['zeros', true, 'formatted'],
    ['data', false, 'ERR_PMEMDAX_HAS_DATA'],
    ['data', true, 'formatted'],
    ['pool', false, 'EEXIST'],
    ['pool', true, 'formatted'],
  ];
  it.each(table)('%s file, force %s: %s', (existing, force, outcome) => {
    const path = scratch().file('pool');
    PREPARE[existing](path);
    const before = existsSync(path) ? statSync(path).size : -1;
    if (outcome === 'formatted') {
      withPool(Pool.create(path, { size: MiB, force }), (p) => {
        expect([...p.list()]).toEqual([]);
        expect(p.check().problems).toEqual([]);
        // A larger existing file keeps its size.
        expect(p.info.size).toBe(Math.max(before, MiB));
      });
      return;
    }
    expect(() => Pool.create(path, { size: MiB, force })).toThrow(expect.objectContaining({ code: outcome }));
    expect(statSync(path).size).toBe(before);
    if (existing === 'pool') expect(withPool(Pool.open(path), (p) => [...p.list()])).toEqual(['keep']);
  });

  it('names a filesystem it finds, and says to pass force', () => {
    const path = scratch().file('ext4.img');
    execFileSync('mkfs.ext4', ['-q', '-F', path, '4M'], { stdio: 'ignore' });
    expect(() => Pool.create(path)).toThrow(expect.objectContaining({
      code: 'ERR_PMEMDAX_HAS_DATA', message: expect.stringMatching(/an ext2\/3\/4 filesystem .*pass force/),
    }));
    withPool(Pool.create(path, { force: true }), (p) => expect(p.info.size).toBe(4 * MiB));
  });

  it('refuses non-zero bytes anywhere in the first 1 MiB, and formats a file whose first 1 MiB is zero', () => {
    const s = scratch();
    const late = Buffer.alloc(2 * MiB);
    late[MiB - 1] = 1;
    writeFileSync(s.file('late'), late);
    expect(() => Pool.create(s.file('late'))).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_HAS_DATA', message: expect.stringMatching(/offset 1048575/) }));
    const beyond = Buffer.alloc(2 * MiB);
    beyond[MiB] = 1;
    writeFileSync(s.file('beyond'), beyond);
    withPool(Pool.create(s.file('beyond')), (p) => expect(p.check().problems).toEqual([]));
  });

  it('grows a smaller blank file to size, but leaves a refused pool at its size', () => {
    const s = scratch();
    writeFileSync(s.file('zeros'), Buffer.alloc(512 * 1024));
    withPool(Pool.create(s.file('zeros'), { size: 2 * MiB }), (p) => expect(p.info.size).toBe(2 * MiB));
    poolWithFile(s.file('pool'), MiB);
    expect(() => Pool.create(s.file('pool'), { size: 4 * MiB })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(statSync(s.file('pool')).size).toBe(MiB);
    withPool(Pool.create(s.file('pool'), { size: 4 * MiB, force: true }), (p) => expect(p.info.size).toBe(4 * MiB));
  });

  it('needs a size for a missing or empty file (ERR_PMEMDAX_SIZE), and leaves nothing behind', () => {
    const s = scratch();
    expect(() => Pool.create(s.file('missing'))).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    expect(existsSync(s.file('missing'))).toBe(false);
    writeFileSync(s.file('empty'), '');
    expect(() => Pool.create(s.file('empty'))).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    expect(existsSync(s.file('empty'))).toBe(true);
  });

  it('a failed create removes only a file it created itself', () => {
    const s = scratch();
    expect(() => Pool.create(s.file('new'), { size: 4096 })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    expect(existsSync(s.file('new'))).toBe(false);
    // Someone else's empty file: this call sized it but did not create it, so it stays.
    writeFileSync(s.file('theirs'), '');
    expect(() => Pool.create(s.file('theirs'), { size: 4096 })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    expect(existsSync(s.file('theirs'))).toBe(true);
  });

  it('a create that finds the lock held gets ERR_PMEMDAX_POOL_LOCKED and leaves the pool alone', () => {
    const path = scratch().file('pool');
    poolWithFile(path);
    withPool(Pool.open(path), (holder) => {
      expect(() => Pool.create(path, { size: MiB, force: true })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
      expect(() => Pool.open(path, { create: { size: MiB } })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
      holder.open('more', { create: true, sync: true });
    });
    expect(withPool(Pool.open(path), (p) => [...p.list()])).toEqual(['keep', 'more']);
  });

  it('a create whose file another open locked first does not remove it', () => {
    const path = scratch().file('pool');
    // A file created by someone else and held (as a racer that won the lock on it would).
    const other = Device.open(path, { create: true, size: MiB, lock: 'exclusive' });
    try {
      expect(other.created).toBe(true);
      expect(() => Pool.create(path, { size: MiB })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
      expect(existsSync(path)).toBe(true);
    } finally {
      other.close();
    }
  });
});

describe('a pool being made, seen by a reader (who takes no flock)', () => {
  it('ERR_PMEMDAX_POOL_LOCKED while the creator holds its lock, the file still empty or not yet formatted; once it lets go, a file without a pool', () => {
    const path = scratch().file('pool');
    const creator = Device.open(path, { create: true, size: MiB, lock: 'exclusive' });
    const locked = expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' });
    try {
      // Sized, not formatted yet.
      expect(() => Pool.open(path, { readonly: true })).toThrow(locked);
      expect(() => Pool.check(path)).toThrow(locked);
      // Still empty: the creator opened and locked it, and has not sized it.
      truncateSync(path, 0);
      expect(() => Pool.open(path, { readonly: true })).toThrow(locked);
      expect(() => Pool.check(path)).toThrow(locked);
      expect(() => Pool.open(path, { readonly: true, lockTimeout: 30 })).toThrow(locked);
    } finally {
      creator.close();
    }
    expect(() => Pool.open(path, { readonly: true })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringContaining('empty file') }));
  });
});

describe('Device: created, the lock taken at open, and unlinkCreated', () => {
  it('reports whether this open created the file; a second open that finds the lock held fails with EAGAIN', () => {
    const path = scratch().file('dev');
    const first = Device.open(path, { create: true, size: MiB, lock: 'exclusive' });
    try {
      expect(first.created).toBe(true);
      expect(first.info).not.toHaveProperty('created');
      expect(() => Device.open(path, { create: true, size: MiB, lock: 'shared' })).toThrow(expect.objectContaining({ code: 'EAGAIN', syscall: 'flock' }));
      const second = Device.open(path, { create: true, size: MiB });
      expect(second.created).toBe(false);
      second.close();
    } finally {
      first.close();
    }
  });

  it('unlinkCreated removes only a file this open created and holds, while the path still names it', () => {
    const s = scratch();
    const unlocked = Device.open(s.file('a'), { create: true, size: MiB });
    expect(unlocked.unlinkCreated()).toBe(false);
    unlocked.close();
    const notOurs = Device.open(s.file('a'), { lock: 'exclusive' });
    expect(notOurs.unlinkCreated()).toBe(false);
    notOurs.close();
    expect(existsSync(s.file('a'))).toBe(true);

    const replaced = Device.open(s.file('b'), { create: true, size: MiB, lock: 'exclusive' });
    writeFileSync(s.file('other'), 'someone else put this here');
    renameSync(s.file('other'), s.file('b'));
    expect(replaced.unlinkCreated()).toBe(false);
    replaced.close();
    expect(statSync(s.file('b')).size).toBe(26);

    const ours = Device.open(s.file('c'), { create: true, size: MiB, lock: 'exclusive' });
    expect(ours.unlinkCreated()).toBe(true);
    ours.close();
    expect(existsSync(s.file('c'))).toBe(false);
  });

  it('rejects a bad lock mode and a non-boolean growExisting', () => {
    const path = scratch().file('dev');
    expect(() => Device.open(path, { create: true, size: MiB, lock: 'both' as 'shared' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => Device.open(path, { create: true, size: MiB, growExisting: 1 as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(existsSync(path)).toBe(false);
  });
});

describe('Pool.open with create', () => {
  it('creates, then opens what is there at its own size; blank files are formatted, others are not a pool', () => {
    const s = scratch();
    const path = s.file('pool');
    withPool(Pool.open(path, { create: { size: MiB } }), (p) => p.open('a', { create: true, sync: true }));
    withPool(Pool.open(path, { create: { size: 4 * MiB } }), (p) => {
      expect(p.info.size).toBe(MiB);
      expect([...p.list()]).toEqual(['a']);
    });
    writeFileSync(s.file('empty'), '');
    withPool(Pool.open(s.file('empty'), { create: { size: MiB } }), (p) => expect(p.info.size).toBe(MiB));
    writeFileSync(s.file('data'), Buffer.alloc(MiB, 'x'));
    expect(() => Pool.open(s.file('data'), { create: { size: MiB } })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
    expect(statSync(s.file('data')).size).toBe(MiB);
  });

  it('takes over a format that never finished (the marker), which a plain open reports as such', () => {
    const path = scratch().file('pool');
    const unfinished = Buffer.alloc(MiB);
    unfinished.write('PMEMDAXF', 0);
    unfinished.fill(1, 8192, 16384);
    writeFileSync(path, unfinished);
    expect(() => Pool.open(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringMatching(/never finished/) }));
    withPool(Pool.open(path, { create: { size: MiB } }), (p) => expect(p.check().problems).toEqual([]));
  });

  it('a process killed while formatting leaves media that the next open-or-create formats', () => {
    const path = scratch().file('pool');
    const r = runNode(`
      const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist`)} + '/index.js');
      Pool.open(process.argv[1], { create: { size: 8 * 1024 * 1024, progress: () => process.kill(process.pid, 'SIGKILL') } });`, [path]);
    expect(r.signal).toBe('SIGKILL');
    expect(() => Pool.open(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
    withPool(Pool.open(path, { create: { size: 8 * MiB } }), (p) => expect(p.check().problems).toEqual([]));
  });

  it('lockTimeout waits for the holder to close; without it a held pool fails at once', async () => {
    const path = scratch().file('pool');
    // The child makes the pool, says so, and holds it 400 ms.
    const child = spawn(process.execPath, ['-e', `
      const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist`)} + '/index.js');
      const p = Pool.open(process.argv[1], { create: { size: 1024 * 1024 } });
      process.stdout.write('held\\n');
      setTimeout(() => p.close(), 400);`, '--', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    expect(() => Pool.open(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
    expect(() => Pool.open(path, { create: { size: MiB }, lockTimeout: 50 })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
    const start = Date.now();
    withPool(Pool.open(path, { create: { size: MiB }, lockTimeout: 10_000 }), (p) => expect(p.info.size).toBe(MiB));
    expect(Date.now() - start).toBeLessThan(5000);
    await new Promise((resolve) => child.once('close', resolve));
  });

  it('checks its options: wrong types are TypeErrors, values out of range RangeErrors', () => {
    const path = scratch().file('pool');
    const cases: [unknown, string][] = [
      [{ create: {} }, 'ERR_INVALID_ARG_TYPE'],
      [{ create: { size: '1M' } }, 'ERR_INVALID_ARG_TYPE'],
      [{ create: 1 }, 'ERR_INVALID_ARG_TYPE'],
      [{ create: { size: -1 } }, 'ERR_OUT_OF_RANGE'],
      [{ create: { size: MiB, journalBytes: 1.5 } }, 'ERR_OUT_OF_RANGE'],
      [{ create: { size: MiB, progress: 'x' } }, 'ERR_INVALID_ARG_TYPE'],
      [{ create: { size: MiB }, readonly: true }, 'ERR_INVALID_ARG_VALUE'],
      [{ lockTimeout: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ lockTimeout: NaN }, 'ERR_OUT_OF_RANGE'],
      [{ lockTimeout: Infinity }, 'ERR_OUT_OF_RANGE'],
      [{ lockTimeout: 2 ** 31 }, 'ERR_OUT_OF_RANGE'],
      [{ lockTimeout: 2 ** 53 }, 'ERR_OUT_OF_RANGE'],
      [{ lockTimeout: 1e300 }, 'ERR_OUT_OF_RANGE'],
      [{ lockTimeout: 1n }, 'ERR_INVALID_ARG_TYPE'],
      [{ lockTimeout: '1' }, 'ERR_INVALID_ARG_TYPE'],
      [{ readonly: 1 }, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [opts, code] of cases) {
      expect(() => Pool.open(path, opts as Parameters<typeof Pool.open>[1]), inspect(opts)).toThrow(expect.objectContaining({ code }));
    }
    expect(() => Pool.create(path, { size: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => Pool.create(path, { size: MiB, force: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => Pool.create(path, null as unknown as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(existsSync(path)).toBe(false);
  });
});

describe('pmemdax mkfs over what is at the path', () => {
  const CLI = `${PROJECT_ROOT}/dist/cli/main.js`;
  const mkfs = (...args: string[]) => spawnSync(process.execPath, [CLI, 'mkfs', ...args], { encoding: 'utf8' });

  it('refuses a file that holds other data unless --force, and says so; a pool likewise', () => {
    const s = scratch();
    writeFileSync(s.file('data'), Buffer.alloc(2 * MiB, 'precious '));
    const refused = mkfs(s.file('data'));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/holds non-zero bytes .*pass --force to format over it.*\(ERR_PMEMDAX_HAS_DATA\)\n$/);
    // Buffer.equals, not toEqual: a deep comparison of 2 MiB takes tens of seconds on a busy machine.
    expect(readFileSync(s.file('data')).equals(Buffer.alloc(2 * MiB, 'precious '))).toBe(true);
    expect(mkfs(s.file('data'), '--force', '--quiet').status).toBe(0);
    const again = mkfs(s.file('data'));
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already holds a pmemdax pool; pass --force .*\(EEXIST\)\n$/);
  });
});
