import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { scratchDir } from '../support/scratch';
import { V1PoolWriter } from './support/v1-writer';

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

// Review of Pool.check(path) (8e2f945): it refuses what holds no pool as Pool.open refuses it (api.md).
describe('review: Pool.check refuses as Pool.open does', () => {
  it('an empty file: ERR_PMEMDAX_CORRUPT, as Pool.open', () => {
    const path = scratch().file('empty');
    writeFileSync(path, '');
    expect(() => Pool.open(path, { readonly: true })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
    expect(() => Pool.check(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
  });

  it('a version-1 pool: ERR_PMEMDAX_FORMAT_VERSION, and the lock is let go (a writer can open after)', () => {
    const path = scratch().file('v1');
    const w = new V1PoolWriter(8 * MiB);
    w.addFile('a', new Uint8Array(5000).fill(3));
    w.checkpoint();
    writeFileSync(path, w.image);
    expect(() => Pool.check(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_FORMAT_VERSION' }));
    Pool.upgrade(path);
    const p = Pool.open(path);
    p.closeSync();
  });

  it('a progress that throws: the error reaches the caller and the lock is let go', () => {
    const path = scratch().file('pool');
    Pool.create(path, { size: 8 * MiB }).closeSync();
    const oops = new Error('stop');
    expect(() => Pool.check(path, { progress: () => { throw oops; } })).not.toThrow();
    const p = Pool.open(path);
    p.open('a', { create: true }).close();
    p.closeSync();
    expect(() => Pool.check(path, { progress: () => { throw oops; } })).toThrow(oops);
    Pool.open(path).closeSync();
  });
});
