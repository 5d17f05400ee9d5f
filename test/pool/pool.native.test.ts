import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PMD_SIZE } from '../../lib/iomap/constants';
import { HOST_MEDIA, PROJECT_ROOT, runNode, scratchDir } from '../support/scratch';

const MiB = 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function scratchPool(base: string): string {
  const s = scratchDir(base);
  cleanups.push(s.cleanup);
  return s.file('pool.img');
}

describe.each(HOST_MEDIA)('pool on a native device ($name)', ({ dir }) => {
  it('creates a pool file, reports it is not on pmem, and reads back after reopen', async () => {
    const path = scratchPool(dir());
    const pool = Pool.create(path, { size: 32 * MiB });
    expect(pool.info).toMatchObject({ kind: 'file', mapSync: false, size: 32 * MiB, readonly: false });
    const f = pool.open('hello', { create: true });
    f.writeSync(Buffer.from('durable bytes'), 0);
    await f.fsync();
    pool.closeSync();
    const again = Pool.open(path, { readonly: true });
    const buf = Buffer.alloc(13);
    expect(again.open('hello', { readonly: true }).readSync(buf, 0)).toBe(13);
    expect(buf.toString()).toBe('durable bytes');
    expect(again.check().ok).toBe(true);
    again.closeSync();
  });

  it('a second writer gets ERR_PMEMDAX_POOL_LOCKED (in this process and from another); readers open beside the writer and each other', () => {
    const path = scratchPool(dir());
    Pool.create(path, { size: 8 * MiB }).closeSync();
    const writer = Pool.open(path);
    expect(() => Pool.open(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
    const beside = Pool.open(path, { readonly: true });
    const child = runNode(`
      const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist`)} + '/index.js');
      try { Pool.open(process.argv[1]); console.log('opened'); } catch (e) { console.log(e.code); }
      const r = Pool.open(process.argv[1], { readonly: true }); console.log('reader', r.statfs().files); r.closeSync();`, [path]);
    expect(child.stdout.trim().split('\n')).toEqual(['ERR_PMEMDAX_POOL_LOCKED', 'reader 0']);
    writer.closeSync();
    beside.closeSync();
    const r1 = Pool.open(path, { readonly: true });
    const r2 = Pool.open(path, { readonly: true });
    // Readers do not keep a writer out.
    const w2 = Pool.open(path);
    w2.closeSync();
    r1.closeSync();
    r2.closeSync();
    Pool.open(path).closeSync();
  });

  it('a region over a pool file: stores through the view are in the file after fsync and reopen', async () => {
    const path = scratchPool(dir());
    const pool = Pool.create(path, { size: 32 * MiB });
    const f = pool.open('mapped', { create: true });
    await f.truncate(2 * PMD_SIZE);
    const region = f.mmap({ length: 2 * PMD_SIZE });
    await region.populate(undefined, 'write');
    region.bytes.fill(0x5a, 4096, 8192);
    region.bytes[PMD_SIZE + 1] = 7;
    await f.fsync();
    f.close();
    pool.closeSync();
    const again = Pool.open(path);
    const g = again.open('mapped');
    const out = new Uint8Array(2 * PMD_SIZE);
    g.readSync(out, 0);
    expect(out[4096]).toBe(0x5a);
    expect(out[8191]).toBe(0x5a);
    expect(out[PMD_SIZE + 1]).toBe(7);
    expect(out[0]).toBe(0);
    expect(again.check().problems).toEqual([]);
    again.closeSync();
  });
});

it('a process killed with the pool open leaves it dirty and consistent; the next open says so', () => {
  const path = scratchPool('/dev/shm');
  const r = runNode(`
    const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist`)} + '/index.js');
    const pool = Pool.create(process.argv[1], { size: 8 * 1024 * 1024 });
    const f = pool.open('a', { create: true, sync: true });
    f.writeSync(Buffer.from('acknowledged'), 0);
    process.kill(process.pid, 'SIGKILL');`, [path]);
  expect(r.signal).toBe('SIGKILL');
  const pool = Pool.open(path);
  expect(pool.info.unsafeShutdown.dirty).toBe(true);
  expect(pool.stat('a').size).toBe(12);
  expect(pool.check().problems).toEqual([]);
  pool.closeSync();
});

describe('pool: files that are not pools, and pools at the size limit', () => {
  it('a failed create leaves no file behind', () => {
    const path = scratchPool('/dev/shm');
    expect(() => Pool.create(path, { size: 4096 })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    expect(existsSync(path)).toBe(false);
    expect(() => Pool.create(path, { size: MiB, journalBytes: 2 * MiB })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    expect(existsSync(path)).toBe(false);
  });

  it.each([0, 100, 8192, 64 * 1024])('a %d-byte file that is not a pool: ERR_PMEMDAX_CORRUPT', (size) => {
    const path = scratchPool('/dev/shm');
    writeFileSync(path, Buffer.alloc(size, 7));
    expect(() => Pool.open(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT', message: expect.stringMatching(/not a pmemdax pool/) }));
  });

  it('the smallest pool (256 KiB) holds data', () => {
    const path = scratchPool('/dev/shm');
    const pool = Pool.create(path, { size: 256 * 1024 });
    expect(pool.statfs().freeBlocks).toBeGreaterThan(16);
    const f = pool.open('a', { create: true, sync: true });
    f.writeSync(new Uint8Array(16 * 4096).fill(3), 0);
    pool.closeSync();
    expect(Pool.open(path, { readonly: true }).stat('a').size).toBe(16 * 4096);
  });
});
