import { expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../../lib';
import { poolPerTest } from './support';

const KiB = 1024;
const MiB = 1024 * KiB;
function content(f: PoolFile, n: number): Buffer {
  const b = Buffer.alloc(n);
  f.readSync(b, 0);
  return b;
}
const pool = poolPerTest({ size: 16 * MiB, journalBytes: 64 * KiB });

it('a reader’s file never shows bytes the writer wrote to another file', async () => {
  const w = Pool.open(pool.path);
  const a = w.open('a', { create: true, sync: true });
  a.writeSync(Buffer.alloc(64 * KiB, 0xa1), 0);
  const b = w.open('b', { create: true, sync: true });
  await a.clone(b, 0, 0, 64 * KiB);
  a.close();
  const r = Pool.open(pool.path, { readonly: true });
  const ra = r.open('a', { readonly: true });
  w.unlink('a'); // block refcount 2 -> 1: 'b' alone owns it now
  b.writeSync(Buffer.alloc(64 * KiB, 0xbb), 0); // in place, no copy on write
  b.close();
  const got = content(ra, 64 * KiB);
  r.closeSync();
  w.closeSync();
  expect(got.equals(Buffer.alloc(64 * KiB, 0xa1))).toBe(true);
});
