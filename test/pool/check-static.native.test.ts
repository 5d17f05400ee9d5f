import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PROJECT_ROOT, scratchDir } from '../support/scratch';

const MiB = 1024 * 1024;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function poolFile(files: number): string {
  const s = scratchDir('/dev/shm');
  cleanups.push(s.cleanup);
  const path = s.file('pool');
  const pool = Pool.create(path, { size: 8 * MiB });
  for (let i = 0; i < files; i++) pool.open(`f${i}`, { create: true }).close();
  pool.closeSync();
  return path;
}

describe('Pool.check(path): a check without opening the pool', () => {
  it('answers as pool.check does, on a pool closed cleanly and on one whose writer is gone with its journal unapplied', () => {
    const path = poolFile(20);
    const opened = Pool.open(path, { readonly: true });
    const report = opened.check();
    opened.closeSync();
    expect(Pool.check(path)).toEqual(report);
    expect(report).toMatchObject({ ok: true, files: 20 });
    const progress: number[] = [];
    Pool.check(path, { progress: (done) => progress.push(done) });
    expect(progress).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('checks beside readers and beside a writer, whose committed state it checks', () => {
    const path = poolFile(1);
    const reader = Pool.open(path, { readonly: true });
    expect(Pool.check(path).ok).toBe(true);
    const writer = Pool.open(path);
    for (let i = 0; i < 3000; i++) writer.open(`n${i}`, { create: true }).close();
    const report = Pool.check(path);
    expect(report.problems).toEqual([]);
    expect(report.files).toBe(3001);
    writer.unlink('n7');
    expect(Pool.check(path).files).toBe(3000);
    writer.closeSync();
    reader.closeSync();
  });

  it('checks clean while a writer in another process runs (every check a committed state)', async () => {
    const path = poolFile(1);
    const child = spawn(process.execPath, ['-e', `
      const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
      const p = Pool.open(process.argv[1]);
      console.log('ready');
      for (let k = 0; ; k++) {
        const f = p.open('w' + k, { create: true, sync: true });
        f.writeSync(Buffer.alloc(8192, k & 255), 0);
        f.close();
        if (k >= 100) p.unlink('w' + (k - 100));
      }`, '--', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => child.stdout?.once('data', resolve));
      for (let i = 0; i < 10; i++) {
        const report = Pool.check(path);
        expect(report.problems).toEqual([]);
        expect(report.files).toBeGreaterThanOrEqual(1);
      }
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses what is not a pool as Pool.open does, and reports a pool it cannot read as a problem', () => {
    const s = scratchDir('/dev/shm');
    cleanups.push(s.cleanup);
    const other = s.file('other');
    writeFileSync(other, Buffer.alloc(MiB, 7));
    expect(() => Pool.check(other)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
    expect(() => Pool.check(s.file('missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it.each([
    ['a number path', 1, undefined, 'ERR_INVALID_ARG_TYPE'],
    ['a path with NUL', 'a\0b', undefined, 'ERR_INVALID_ARG_VALUE'],
    ['null options', 'p', null, 'ERR_INVALID_ARG_TYPE'],
    ['a progress that is not a function', 'p', { progress: 1 }, 'ERR_INVALID_ARG_TYPE'],
    ['a lockTimeout of NaN', 'p', { lockTimeout: Number.NaN }, 'ERR_OUT_OF_RANGE'],
    ['a negative lockTimeout', 'p', { lockTimeout: -1 }, 'ERR_OUT_OF_RANGE'],
    ['a BigInt lockTimeout', 'p', { lockTimeout: 1n }, 'ERR_INVALID_ARG_TYPE'],
  ])('refuses %s', (_what, path, opts, code) => {
    expect(() => Pool.check(path as string, opts as never)).toThrow(expect.objectContaining({ code }));
  });
});
