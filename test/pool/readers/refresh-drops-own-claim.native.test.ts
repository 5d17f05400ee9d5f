import { afterEach, beforeEach, expect, it } from 'vitest';
import { Device, Pool, type PoolFile } from '../../../lib';
import { Claims } from '../../../lib/pool/claims';
import { scratchDir } from '../../support/scratch';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHECKPOINT_AT = (1n << 62n) - 1n;

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
  const w = Pool.create(path, { size: 16 * MiB, journalBytes: 64 * KiB });
  const f = w.open('a', { create: true, sync: true });
  f.writeSync(Buffer.alloc(256 * KiB, 0xa1), 0);
  f.close();
  w.closeSync(); // clean close: a checkpoint, no records -> a reader's point is (E, 0)
});
afterEach(() => {
  for (const p of pools.splice(0)) p.closeSync();
  s.cleanup();
});

it('a refresh that meets a checkpoint in its superblock switch keeps the claim of the snapshot it still reads', () => {
  const r = Pool.open(path, { readonly: true });
  pools.push(r);
  const fa = r.open('a', { readonly: true });
  const probe = Device.open(path, { readonly: true });
  expect(new Claims(probe, 16).anyBefore()).toBe(true); // the reader's (E, 0)

  // A writer in the middle of a checkpoint: it holds the checkpoint lock and has written the new epoch
  // into the primary superblock, whose checksum is not yet right (the rest of the block is still on its way).
  const fake = Device.open(path);
  const saved = Buffer.from(fake.readSafe(0, 4096));
  expect(fake.rangeLock(CHECKPOINT_AT, 1n, 'exclusive')).toBe(true);
  const epoch = saved.readBigUInt64LE(48);
  const torn = Buffer.from(saved);
  torn.writeBigUInt64LE(epoch + 1n, 48);
  fake.copy(0, torn);

  let err: unknown = null;
  try {
    r.refresh();
  } catch (e) {
    err = e;
  }
  // The "checkpoint" ends without switching (or the reader gave up): the reader still reads (E, 0).
  fake.copy(0, saved);
  fake.rangeLock(CHECKPOINT_AT, 1n, 'none');
  fake.close();
  expect(new Claims(probe, 16).anyBefore()).toBe(true);
  probe.close();

  // A writer now frees 'a' and fills the pool.
  const w = Pool.open(path);
  pools.push(w);
  w.unlink('a');
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
  expect(got.equals(Buffer.alloc(256 * KiB, 0xa1))).toBe(true);
}, 30_000);
