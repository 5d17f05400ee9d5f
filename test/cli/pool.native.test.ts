import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device } from '../../lib/device/device';
import { HOST_MEDIA, MiB, PROJECT_ROOT, scratchDir } from '../support/scratch';
import { craftRename } from '../pool/support/craft';
import { V1PoolWriter } from '../pool/support/v1-writer';

const CLI = `${PROJECT_ROOT}/dist/cli/main.js`;

interface Run {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs a program (asynchronously: the test worker must keep answering vitest meanwhile). */
function run(file: string, args: string[], input: Uint8Array | string = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { timeout: 60_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    child.stdin.once('error', () => {}); // a command that reads no input may exit before taking it
    child.stdin.end(input);
  });
}

/** Runs the CLI and returns its stdout as text, failing with its stderr if it did not exit 0. */
const cli = (args: string[], input?: Uint8Array | string) => run(process.execPath, [CLI, ...args], input);

async function ok(...args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.status, `pmemdax ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.toString();
}

/** The bytes `pmemdax cat` writes, failing with its stderr if it did not exit 0. */
async function cat(pool: string, name: string): Promise<Buffer> {
  const r = await cli(['cat', pool, name]);
  expect(r.status, `pmemdax cat ${name}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function json<T>(...args: string[]): Promise<T> {
  return JSON.parse(await ok(...args, '--json')) as T;
}

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Inverts the byte at `offset` of a file (a damaged superblock). */
function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] = (b[0] as number) ^ 0xff;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

describe.each(HOST_MEDIA)('pmemdax pool commands on a $name', (medium) => {
  let s: ReturnType<typeof scratchDir>;
  let pool: string;
  beforeEach(() => {
    s = scratchDir(medium.dir());
    pool = s.file('pool');
  });
  afterEach(() => s.cleanup());

  it('mkfs formats a new file of --size; info reads it back as text and JSON', async () => {
    expect(await ok('mkfs', pool, '--size', '64M', '--journal', '1M')).toMatch(/^formatted /);
    expect(readFileSync(pool).length).toBe(64 * MiB);
    const text = await ok('info', pool);
    expect(text).toMatch(/^size: +67108864 bytes \(64 MiB\)$/m);
    expect(text).toMatch(/^journal: +1048576 bytes \(1 MiB\)$/m);
    expect(text).toMatch(/^files: +0$/m);
    const { info, statfs } = await json<{ info: { size: number; uuid: string; journalBytes: number }; statfs: { files: number } }>('info', pool);
    expect(info.size).toBe(64 * MiB);
    expect(info.journalBytes).toBe(MiB);
    expect(statfs.files).toBe(0);
    expect(text).toContain(info.uuid);
  });

  it('grow extends the pool file and the pool, keeps its files, refuses to shrink (exit 1) and a bad size (exit 2)', async () => {
    await ok('mkfs', pool, '--size', '8M');
    const data = randomBytes(3 * MiB);
    expect((await cli(['put', pool, 'kept'], data)).status).toBe(0);
    expect(await ok('grow', pool, '24M')).toMatch(/^grew .*\nsize: +25165824 bytes \(24 MiB\)$/m);
    expect(readFileSync(pool).length).toBe(24 * MiB);
    expect(sha(await cat(pool, 'kept'))).toBe(sha(data));
    const { info } = await json<{ info: { size: number } }>('info', pool);
    expect(info.size).toBe(24 * MiB);
    const shrink = await cli(['grow', pool, '8M']);
    expect(shrink.status).toBe(1);
    expect(shrink.stderr.toString()).toContain('cannot shrink');
    expect(await ok('grow', pool, '24M')).toMatch(/is that size already/);
    expect((await cli(['grow', pool, '17T'])).status).toBe(2);
    expect((await cli(['grow', pool, 'lots'])).status).toBe(2);
    expect((await cli(['grow', pool])).status).toBe(2);
    expect(readFileSync(pool).length).toBe(24 * MiB);
  });

  it('upgrade takes a pool of format version 1 to version 2 with its files, says so of one at version 2 (exit 0), refuses what is not a pool (exit 5)', async () => {
    const v1 = new V1PoolWriter(8 * MiB);
    const data = randomBytes(3 * MiB);
    v1.addFile('kept', data);
    v1.checkpoint();
    writeFileSync(pool, v1.image);
    const refused = await cli(['ls', pool]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/format version 1: .*'pmemdax upgrade'.*\(ERR_PMEMDAX_FORMAT_VERSION\)/);
    expect(await ok('upgrade', pool)).toMatch(/^upgraded .* to format version 2\nfiles: +1\n/);
    expect(sha(await cat(pool, 'kept'))).toBe(sha(data));
    expect(await ok('upgrade', pool)).toMatch(/is format version 2 already/);
    expect((await cli(['check', pool])).status).toBe(0);
    writeFileSync(s.file('zeros'), new Uint8Array(8 * MiB));
    expect((await cli(['upgrade', s.file('zeros')])).status).toBe(5);
    expect((await cli(['upgrade'])).status).toBe(2);
    expect((await cli(['upgrade', pool, 'extra'])).status).toBe(2);
  });

  it('ls pages through the names: --after the last name of a page, --limit its length', async () => {
    await ok('mkfs', pool, '--size', '8M');
    for (const name of ['big', 'dir/small', 'empty']) expect((await cli(['put', pool, name], '')).status).toBe(0);
    expect(await ok('ls', pool, '--after', 'big')).toBe('dir/small\nempty\n');
    expect(await ok('ls', pool, '--after', 'c', '--limit', '1')).toBe('dir/small\n');
    expect(await ok('ls', pool, '--limit', '0')).toBe('');
    expect(await json<string[]>('ls', pool, 'dir/', '--after', 'dir/small')).toEqual([]);
  });

  it('put stores a file and stdin; cat gives back the same bytes; stat, ls and fiemap describe them', async () => {
    await ok('mkfs', pool, '--size', '32M');
    const big = randomBytes(3 * MiB + 123);
    writeFileSync(s.file('big.bin'), big);
    await ok('put', pool, 'big', s.file('big.bin'));
    const fromStdin = randomBytes(70_000);
    expect((await cli(['put', pool, 'dir/small', '-'], fromStdin)).status).toBe(0);
    expect((await cli(['put', pool, 'empty'], '')).status).toBe(0);

    expect(sha(await cat(pool, 'big'))).toBe(sha(big));
    expect(sha(await cat(pool, 'dir/small'))).toBe(sha(fromStdin));
    expect((await cat(pool, 'empty')).length).toBe(0);

    expect(await ok('ls', pool)).toBe('big\ndir/small\nempty\n');
    expect(await ok('ls', pool, 'dir/')).toBe('dir/small\n');
    expect(await ok('ls', pool, 'nothing-here')).toBe('');
    expect(await json<string[]>('ls', pool)).toEqual(['big', 'dir/small', 'empty']);
    const long = (await ok('ls', pool, '-l')).split('\n');
    expect(long[0]).toMatch(/size +allocated +extents +modified +name/);
    expect(long[1]).toMatch(new RegExp(`^ *${big.length} +\\d+ +\\d+ +\\S+ +big$`));

    const st = await json<{ name: string; size: number; allocated: number; extents: number }>('stat', pool, 'big');
    expect(st).toMatchObject({ name: 'big', size: big.length });
    expect(st.allocated).toBeGreaterThanOrEqual(big.length);
    expect(await ok('stat', pool, 'big')).toMatch(new RegExp(`^size: +${big.length} bytes`, 'm'));

    const extents = await json<{ logical: number; length: number; flagNames: string[] }[]>('fiemap', pool, 'big');
    expect(extents.length).toBe(st.extents);
    expect(extents.reduce((n, e) => n + e.length, 0)).toBeGreaterThanOrEqual(big.length);
    expect(extents.at(-1)?.flagNames).toContain('last');
    expect(await ok('fiemap', pool, 'big')).toMatch(/^ *logical +physical +length +flags\n/);
    expect(await ok('fiemap', pool, 'empty')).toMatch(/no extents/);
    expect(await json<unknown[]>('fiemap', pool, 'empty')).toEqual([]);
    expect(await ok('info', pool)).toMatch(/^files: +3$/m);
  });

  it('put replaces a file in one step and leaves no temporary name behind', async () => {
    await ok('mkfs', pool, '--size', '16M');
    expect((await cli(['put', pool, 'f'], 'old contents')).status).toBe(0);
    expect((await cli(['put', pool, 'f'], 'new')).status).toBe(0);
    expect((await cat(pool, 'f')).toString()).toBe('new');
    expect(await ok('ls', pool)).toBe('f\n');
  });

  it('a put whose input fails leaves the old file as it was and no temporary name', async () => {
    await ok('mkfs', pool, '--size', '16M');
    expect((await cli(['put', pool, 'f'], 'kept')).status).toBe(0);
    mkdirSync(s.file('a-directory'));
    const r = await cli(['put', pool, 'f', s.file('a-directory')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pmemdax: .*\(EISDIR\)\n$/);
    const missing = await cli(['put', pool, 'f', s.file('no-such-input')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/\(ENOENT\)\n$/);
    expect((await cat(pool, 'f')).toString()).toBe('kept');
    expect(await ok('ls', pool)).toBe('f\n');
  });

  it('rm removes every name it can, reports the others and exits 1; -f ignores missing names', async () => {
    await ok('mkfs', pool, '--size', '16M');
    for (const n of ['a', 'b', 'c']) expect((await cli(['put', pool, n], n)).status).toBe(0);
    const r = await cli(['rm', pool, 'a', 'missing', 'b']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pmemdax: .*missing.*\(ENOENT\)\n$/);
    expect(await ok('ls', pool)).toBe('c\n');
    await ok('rm', '-f', pool, 'missing', 'c');
    expect(await ok('ls', pool)).toBe('');
  });

  it('check passes a fresh pool and one with files; badblocks finds none off pmem', async () => {
    await ok('mkfs', pool, '--size', '16M');
    expect((await cli(['put', pool, 'x'], randomBytes(100_000))).status).toBe(0);
    expect(await ok('check', pool)).toMatch(/: 1 files, \d+ blocks used, no problems\n$/);
    expect(await json<{ ok: boolean; problems: unknown[] }>('check', pool)).toMatchObject({ ok: true, problems: [] });
    expect(await ok('badblocks', pool)).toMatch(/no known badblocks/);
    expect(await json<unknown[]>('badblocks', pool)).toEqual([]);
  });
});

describe('pmemdax pool commands: read-only commands, errors and exit codes', () => {
  let s: ReturnType<typeof scratchDir>;
  let pool: string;
  beforeEach(async () => {
    s = scratchDir('/dev/shm');
    pool = s.file('pool');
    await ok('mkfs', pool, '--size', '16M');
    expect((await cli(['put', pool, 'f'], randomBytes(50_000))).status).toBe(0);
  });
  afterEach(() => s.cleanup());

  it('info, check, ls, stat, cat, fiemap and badblocks leave the pool file byte for byte as it was', async () => {
    const before = sha(readFileSync(pool));
    for (const args of [['info'], ['check'], ['ls'], ['ls', '-l'], ['stat', 'f'], ['cat', 'f'], ['fiemap', 'f'], ['badblocks']]) {
      const [command, ...rest] = args as [string, ...string[]];
      expect((await cli([command, pool, ...rest])).status, command).toBe(0);
    }
    expect(sha(readFileSync(pool))).toBe(before);
  });

  it('cat into a reader that stops early exits 0 without a word', async () => {
    await ok('mkfs', pool, '--size', '32M', '--force');
    writeFileSync(s.file('big'), randomBytes(8 * MiB));
    await ok('put', pool, 'big', s.file('big'));
    const r = await run('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" cat "${pool}" big | head -c 10 >/dev/null`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('check prints each problem with what and where and exits 3; a pool with both superblocks damaged exits 5', async () => {
    const size = 16 * MiB;
    flipByte(pool, size - 4096 + 100);
    const r = await cli(['check', pool]);
    expect(r.status).toBe(3);
    expect(r.stdout.toString()).toMatch(/^problem: superblock at backup superblock at offset 16773120: checksum mismatch$/m);
    expect(r.stdout.toString()).toMatch(/: 1 files, \d+ blocks used, 1 problem\n$/);
    const j = await cli(['check', pool, '--json']);
    expect(j.status).toBe(3);
    expect(JSON.parse(j.stdout.toString())).toMatchObject({ ok: false, problems: [{ what: 'superblock', where: 'backup superblock at offset 16773120' }] });
    expect((await cat(pool, 'f')).length).toBe(50_000);
    flipByte(pool, 100);
    const both = await cli(['check', pool]);
    expect(both.status).toBe(5);
    expect(both.stderr).toMatch(/^pmemdax: pool .* is corrupt: superblock at offset 0: .*\(ERR_PMEMDAX_CORRUPT\)\n$/);
  });

  it('a pool with a name held twice: check exits 3 naming it, info and cat read it, writing commands exit 5', async () => {
    writeFileSync(s.file('a.bin'), 'first');
    writeFileSync(s.file('b.bin'), 'second');
    await ok('put', pool, 'a', s.file('a.bin'));
    await ok('put', pool, 'b', s.file('b.bin'));
    const device = Device.open(pool);
    try {
      craftRename(device, 'b', 'a');
    } finally {
      device.close();
    }
    const r = await cli(['check', pool]);
    expect(r.status).toBe(3);
    expect(r.stdout.toString()).toMatch(/^problem: duplicate name at name 'a': inodes \d+ and \d+ are both named 'a'/m);
    expect(await ok('info', pool)).toMatch(/^recovery: .*1 problem found \(read-only: writing is refused/m);
    expect((await cat(pool, 'a')).toString()).toBe('first');
    const put = await cli(['put', pool, 'c', s.file('a.bin')]);
    expect(put.status).toBe(5);
    expect(put.stderr).toMatch(/duplicate name at name 'a'.*open it read-only to copy its files out/);
  });

  it('a put that runs out of space exits 1 with ENOSPC and gives the space back', async () => {
    const before = await json<{ statfs: { freeBlocks: number } }>('info', pool);
    const r = await cli(['put', pool, 'huge'], randomBytes(20 * MiB));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pmemdax: ENOSPC: .*:huge' .*\(ENOSPC\)\n$/);
    expect(await ok('ls', pool)).toBe('f\n');
    expect((await json<{ statfs: { freeBlocks: number } }>('info', pool)).statfs.freeBlocks).toBe(before.statfs.freeBlocks);
    expect((await cli(['check', pool])).status).toBe(0);
  });

  it('a put killed part way leaves the old file whole, and the pool opens again', async () => {
    const old = (await cat(pool, 'f')).toString('hex');
    const child = spawn(process.execPath, [CLI, 'put', pool, 'f', '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.write(randomBytes(4 * MiB));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGKILL');
    await exited;
    expect((await cat(pool, 'f')).toString('hex')).toBe(old);
    const names = (await ok('ls', pool)).split('\n').filter((n) => n !== '');
    expect(names.filter((n) => n !== 'f').every((n) => n.startsWith('.pmemdax-put.'))).toBe(true);
    expect((await cli(['check', pool])).status).toBe(0);
  });

  it('a missing pool exits 1 with ENOENT', async () => {
    const r = await cli(['info', s.file('nope')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pmemdax: ENOENT: .*\(ENOENT\)\n$/);
  });

  it('a file that is not a pool exits 5 (ERR_PMEMDAX_CORRUPT), for every command', async () => {
    writeFileSync(s.file('zeros'), Buffer.alloc(MiB));
    writeFileSync(s.file('text'), 'hello\n'.repeat(100_000));
    for (const file of ['zeros', 'text']) {
      for (const args of [['info'], ['check'], ['ls'], ['stat', 'x'], ['cat', 'x'], ['put', 'x', '-'], ['rm', 'x'], ['fiemap', 'x'], ['badblocks'], ['backup', s.file('copy')]]) {
        const [command, ...rest] = args as [string, ...string[]];
        const r = await cli([command, s.file(file), ...rest], '');
        expect(r.status, `${command} on ${file}: ${r.stderr}`).toBe(5);
        expect(r.stderr).toMatch(/\(ERR_PMEMDAX_CORRUPT\)\n$/);
      }
    }
  });

  it('mkfs over a pool needs --force (EEXIST, exit 1), and then starts it empty', async () => {
    const r = await cli(['mkfs', pool, '--size', '16M']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\(EEXIST\)\n$/);
    expect(await ok('ls', pool)).toBe('f\n');
    await ok('mkfs', pool, '--force');
    expect(await ok('ls', pool)).toBe('');
  });

  /** Another process holding the pool open (for writing, or read-only) until the returned release is awaited. */
  async function holdPool(readonly: boolean): Promise<() => Promise<void>> {
    const holder = spawn(process.execPath, ['-e', `
      const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/pool/index.js`)});
      const p = Pool.open(process.argv[1], { readonly: process.argv[2] === 'ro' });
      process.stdout.write('ready\\n');
      process.stdin.resume();
      process.stdin.on('end', () => p.close());
    `, pool, readonly ? 'ro' : 'rw'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      void exited.then((code) => reject(new Error(`holder exited ${String(code)}`)));
    });
    return async () => {
      holder.stdin.end();
      await exited;
    };
  }

  async function expectLocked(commands: string[][]): Promise<void> {
    for (const args of commands) {
      const r = await cli(args, '');
      expect(r.status, args.join(' ')).toBe(4);
      expect(r.stderr).toMatch(/^pmemdax: .*\(ERR_PMEMDAX_POOL_LOCKED\)\n$/);
    }
  }

  it('a pool open for writing in another process: writers and mkfs exit 4 (ERR_PMEMDAX_POOL_LOCKED); ls, cat, stat, info and check read a snapshot', async () => {
    const release = await holdPool(false);
    try {
      await expectLocked([['put', pool, 'g', '-'], ['rm', pool, 'f'], ['mkfs', pool, '--force']]);
      expect((await cli(['check', pool], '')).status).toBe(0);
      expect(await ok('ls', pool)).toBe('f\n');
      expect((await cat(pool, 'f')).length).toBe(50_000);
      expect((await cli(['stat', pool, 'f'], '')).status).toBe(0);
      expect(await ok('info', pool)).toMatch(/^last close: +open for writing by a running process now/m);
      expect((await json<{ writerRunning: boolean }>('info', pool)).writerRunning).toBe(true);
      await ok('backup', pool, s.file('copy'));
      expect(await ok('ls', s.file('copy'))).toBe('f\n');
    } finally {
      await release();
    }
    expect(await ok('ls', pool)).toBe('f\n');
    expect(await ok('info', pool)).toMatch(/^last close: +clean$/m);
    expect((await json<{ writerRunning: boolean }>('info', pool)).writerRunning).toBe(false);
  });

  it('backup copies a pool into a new file that is a pool (same files, checks clean); an existing dest exits 1 (EEXIST)', async () => {
    const copy = s.file('copy');
    expect(await ok('backup', pool, copy)).toMatch(/^copied .* to .*copy\ncopied: +\d+ bytes/);
    expect(sha(await cat(copy, 'f'))).toBe(sha(await cat(pool, 'f')));
    expect((await cli(['check', copy])).status).toBe(0);
    const again = await cli(['backup', pool, copy]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/\(EEXIST\)\n$/);
    const report = await json<{ source: string; path: string; bytes: number; epoch: number; seq: number }>('backup', pool, s.file('copy2'));
    expect(report).toMatchObject({ source: pool, path: s.file('copy2') });
    expect(report.bytes).toBeGreaterThan(50_000);
    expect((await cli(['backup', pool])).status).toBe(2);
  });

  it('backup interrupted by SIGINT or SIGTERM exits 130 or 143 and leaves no partial copy', async () => {
    await ok('mkfs', pool, '--size', '512M', '--force');
    writeFileSync(s.file('big'), randomBytes(64 * MiB));
    for (let i = 0; i < 4; i++) await ok('put', pool, `big${i}`, s.file('big'));
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const dest = s.file(`copy-${signal}`);
      const child = spawn(process.execPath, [CLI, 'backup', pool, dest, '--quiet']);
      const exited = new Promise<number | null>((resolve) => child.once('close', (status) => resolve(status)));
      // Once the partial copy exists, the signal lands in the middle of the copy.
      while (child.exitCode === null && !readdirSync(s.dir).some((n) => n.startsWith('.pmemdax-backup-'))) await new Promise((resolve) => setTimeout(resolve, 5));
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(readdirSync(s.dir).filter((n) => n.startsWith('.pmemdax-backup-') || n.startsWith('copy-'))).toEqual([]);
    }
    expect((await cli(['check', pool])).status).toBe(0);
  });

  it('a pool open read-only in another process: readers and a writer open beside it; mkfs --force exits 4', async () => {
    const release = await holdPool(true);
    try {
      expect(await ok('ls', pool)).toBe('f\n');
      expect((await cat(pool, 'f')).length).toBe(50_000);
      expect((await cli(['put', pool, 'g'], 'now')).status).toBe(0);
      await expectLocked([['mkfs', pool, '--force']]);
    } finally {
      await release();
    }
    expect(await ok('ls', pool)).toBe('f\ng\n');
  });

  it('a missing or unusable name fails with its errno: ENOENT, ENAMETOOLONG, EINVAL (exit 1)', async () => {
    const long = 'n'.repeat(256);
    const cases: [string[], string][] = [
      [['stat', pool, 'nope'], 'ENOENT'],
      [['cat', pool, 'nope'], 'ENOENT'],
      [['fiemap', pool, 'nope'], 'ENOENT'],
      [['stat', pool, long], 'ENAMETOOLONG'],
      [['put', pool, long, '-'], 'ENAMETOOLONG'],
      [['put', pool, '', '-'], 'EINVAL'],
    ];
    for (const [args, code] of cases) {
      const r = await cli(args, 'data');
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`\\(${code}\\)\\n$`));
    }
    expect(await ok('ls', pool)).toBe('f\n');
  });

  it('a name of exactly 255 bytes is stored', async () => {
    const name = 'é'.repeat(127) + 'x';
    expect((await cli(['put', pool, name], 'ok')).status).toBe(0);
    expect((await cat(pool, name)).toString()).toBe('ok');
  });

  it('usage errors exit 2 and print the command\'s usage line: missing arguments, unknown options, bad sizes', async () => {
    const cases: string[][] = [
      ['stat', pool],
      ['cat', pool],
      ['put', pool],
      ['rm', pool],
      ['info'],
      ['info', pool, 'extra'],
      ['ls', pool, '--bogus'],
      ['ls', pool, '-x'],
      ['ls', pool, '--limit', '-1'],
      ['ls', pool, '--limit', '1.5'],
      ['ls', pool, '--limit'],
      ['ls', s.file('no-such-pool'), '--limit', 'abc'],
      ['cat', pool, 'f', '--json'],
      ['mkfs', s.file('new'), '--size', '12Q'],
      ['mkfs', s.file('new'), '--size', '0'],
      ['mkfs', s.file('new'), '--size'],
      ['mkfs', s.file('new'), '--size', '1.5G'],
      ['mkfs', s.file('new'), '--size', '1M', '--journal', 'lots'],
      ['mkfs', s.file('new')],
    ];
    for (const args of cases) {
      const r = await cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^pmemdax ${args[0]}: .*\\nusage: pmemdax ${args[0]} `));
    }
    const unknown = await cli(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('help lists every command and the exit codes; --help and help <command> show a command\'s options', async () => {
    const text = await ok('help');
    for (const c of ['mkfs', 'info', 'check', 'backup', 'ls', 'stat', 'cat', 'put', 'rm', 'fiemap', 'badblocks', 'probe']) {
      expect(text).toMatch(new RegExp(`^  ${c} `, 'm'));
    }
    expect(text).toMatch(/^ +4 .*ERR_PMEMDAX_POOL_LOCKED/m);
    expect(await ok('help', 'mkfs')).toMatch(/--size SIZE/);
    expect(await ok('mkfs', '--help')).toBe(await ok('help', 'mkfs'));
    expect((await cli(['help', 'frobnicate'])).status).toBe(2);
  });

  it('prints no progress bar when stderr is not a terminal, nor with --quiet on one', async () => {
    const piped = await cli(['check', pool]);
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe('');
    const tty = await run('script', ['-qfec', `"${process.execPath}" "${CLI}" check --quiet "${pool}" >/dev/null`, '/dev/null']);
    expect(tty.status).toBe(0);
    expect(tty.stdout.toString()).not.toMatch(/checking/);
  });
});
