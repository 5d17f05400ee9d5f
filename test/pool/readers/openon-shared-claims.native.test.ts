import { afterEach, beforeEach, expect, it } from 'vitest';
import { Device, Pool, type PoolFile } from '../../../lib';
import { scratchDir } from '../../support/scratch';

const KiB = 1024;
const MiB = 1024 * KiB;

function content(f: PoolFile, n: number): Buffer {
  const b = Buffer.alloc(n);
  f.readSync(b, 0);
  return b;
}
function fill(w: Pool): void {
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
}

let s: ReturnType<typeof scratchDir>;
let path: string;
const closers: (() => void)[] = [];
beforeEach(() => {
  s = scratchDir('/dev/shm');
  path = s.file('pool');
  const w = Pool.create(path, { size: 16 * MiB, journalBytes: 64 * KiB });
  const f = w.open('a', { create: true, sync: true });
  f.writeSync(Buffer.alloc(256 * KiB, 0xa1), 0);
  f.close();
  w.closeSync();
});
afterEach(() => {
  for (const c of closers.splice(0).reverse()) c();
  s.cleanup();
});

it('two readers on one Device: closing one leaves the other its claim', () => {
  const d = Device.open(path, { readonly: true });
  closers.push(() => d.close());
  const r1 = Pool.openOn(d, { readonly: true, path });
  const r2 = Pool.openOn(d, { readonly: true, path });
  closers.push(() => r2.closeSync());
  const fa = r2.open('a', { readonly: true });
  r1.closeSync(); // drops the byte lock (E, 0) -- which is r2's too
  const w = Pool.open(path);
  closers.push(() => w.closeSync());
  w.unlink('a');
  fill(w);
  const got = content(fa, 256 * KiB);
  expect(got.equals(Buffer.alloc(256 * KiB, 0xa1))).toBe(true);
});
