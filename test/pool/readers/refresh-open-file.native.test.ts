import { afterEach, beforeEach, expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../../lib';
import { scratchDir } from '../../support/scratch';

const KiB = 1024;
const MiB = 1024 * KiB;

function content(f: PoolFile, n: number): Buffer {
  const b = Buffer.alloc(n);
  f.readSync(b, 0);
  return b;
}

let s: ReturnType<typeof scratchDir>;
let path: string;
const pools: Pool[] = [];
beforeEach(() => {
  s = scratchDir('/dev/shm');
  path = s.file('pool');
  // A journal large enough that nothing below checkpoints: the refresh follows the journal.
  Pool.create(path, { size: 16 * MiB, journalBytes: 1 * MiB }).closeSync();
});
afterEach(() => {
  for (const p of pools.splice(0)) p.closeSync();
  s.cleanup();
});

it('a file a reader holds open across a refresh that follows the journal never shows another file’s bytes', () => {
  const w = Pool.open(path);
  pools.push(w);
  const f = w.open('a', { create: true, sync: true });
  f.writeSync(Buffer.alloc(256 * KiB, 0xa1), 0);
  f.close();
  const r = Pool.open(path, { readonly: true });
  pools.push(r);
  const fa = r.open('a', { readonly: true });
  expect(content(fa, 256 * KiB).equals(Buffer.alloc(256 * KiB, 0xa1))).toBe(true);
  w.unlink('a');
  r.refresh();
  // The writer reuses the blocks of 'a' for another file.
  const g = w.open('secret', { create: true, sync: true });
  const chunk = Buffer.alloc(64 * KiB, 0x5e);
  for (;;) {
    try {
      g.appendSync(chunk);
    } catch {
      break;
    }
  }
  g.close();
  const got = content(fa, 256 * KiB);
  const foreign = got.filter((x) => x === 0x5e).length;
  expect(foreign).toBe(0);
});
