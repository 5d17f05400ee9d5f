import { describe, expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../lib';
import { checkPool } from '../../lib/pool/check';
import { replaySparse } from '../../lib/pool/check-replay';
import { MemoryDevice } from '../../lib/testing';
import { Prng } from '../dax/support/prng';

const MiB = 1024 * 1024;
const PAGE = 4096;

// `check` walks the trees instead of loading the pool, and replays the journal over the inodes it names
// alone (lib/pool/check.ts, check-replay.ts): its answers must be a load's, whatever the journal holds.

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** A pool of `files` files closed (all in a checkpoint), opened again. */
function checkpointed(dev: MemoryDevice, files: number): Pool {
  const pool = Pool.createOn(dev, { journalBytes: 256 * 1024 });
  for (let i = 0; i < files; i++) pool.open(`file-${String(i).padStart(5, '0')}`, { create: true }).close();
  pool.closeSync();
  return Pool.openOn(dev);
}

/** Every kind of journalled change since the checkpoint, leaving `kept` open (unlinked: an orphan). */
async function journalEveryKind(pool: Pool): Promise<PoolFile> {
  const a = pool.open('a', { create: true, sync: true });
  // Appends between other files' blocks: more extents than an inode record holds inline.
  const b = pool.open('b', { create: true, sync: true });
  for (let i = 0; i < 40; i++) {
    a.appendSync(bytes(PAGE, i));
    b.appendSync(bytes(PAGE, i + 1));
  }
  await a.clone(b, 0, 0, 8 * PAGE);
  pool.rename('file-00001', 'file-00002');
  pool.rename('a', 'file-00003');
  pool.unlink('file-00004');
  const kept = pool.open('file-00005');
  pool.unlink('file-00005');
  await b.truncate(20 * PAGE);
  a.close();
  b.close();
  return kept;
}

describe('check streams over the media', () => {
  it('a pool with every kind of change in its journal checks clean, with the files the pool counts', async () => {
    const dev = new MemoryDevice(16 * MiB);
    const pool = checkpointed(dev, 300);
    const kept = await journalEveryKind(pool);
    const report = pool.check();
    expect(report.problems).toEqual([]);
    expect(report.files).toBe(pool.statfs().files);
    expect(report.files).toBe([...pool.list()].length);
    kept.close();
    pool.closeSync();
    const again = Pool.openOn(dev);
    expect(again.check()).toMatchObject({ ok: true, files: report.files });
    again.closeSync();
  });

  it('the replay holds only the inodes the journal touched, however many files the trees hold', async () => {
    const dev = new MemoryDevice(32 * MiB);
    const pool = checkpointed(dev, 3000);
    pool.rename('file-00010', 'renamed');
    pool.unlink('file-00020');
    const f = pool.open('new', { create: true, sync: true });
    f.appendSync(bytes(100, 1));
    f.close();
    const sp = replaySparse(dev, '(device)');
    // The three files the records name, and the holder of each name a record gives (looked up to apply it).
    expect(sp.inodes.size).toBeLessThanOrEqual(6);
    expect(sp.inodes.gone.size).toBe(1);
    expect(checkPool(dev, '(device)', null).problems).toEqual([]);
    pool.closeSync();
  });

  it('reports progress over every file, in order, ending at the total', () => {
    const dev = new MemoryDevice(16 * MiB);
    const pool = checkpointed(dev, 500);
    pool.open('since', { create: true }).close();
    const seen: [number, number][] = [];
    pool.check({ progress: (done, total) => seen.push([done, total]) });
    expect(seen.length).toBe(501);
    expect(seen.every(([done, total], i) => done === i + 1 && total === 501)).toBe(true);
    pool.closeSync();
  });

  it('random histories with random checkpoints: check agrees with a load after every step', async () => {
    const rng = new Prng(0x5eed);
    const dev = new MemoryDevice(32 * MiB);
    let pool = Pool.createOn(dev, { journalBytes: 64 * 1024 });
    const names = (): string[] => [...pool.list()];
    for (let step = 0; step < 400; step++) {
      const existing = names();
      const pick = (): string => existing[rng.int(existing.length)] as string;
      const r = rng.int(10);
      if (r < 3 || existing.length < 4) {
        const f = pool.open(`n${rng.int(200)}`, { create: true, sync: true });
        f.appendSync(bytes(1 + rng.int(3 * PAGE), step));
        f.close();
      } else if (r < 5) {
        pool.rename(pick(), rng.int(2) === 0 ? pick() : `m${rng.int(200)}`);
      } else if (r < 7) {
        pool.unlink(pick());
      } else if (r < 8) {
        const [from, to] = [pool.open(pick(), { sync: true }), pool.open(pick(), { sync: true })];
        await from.clone(to, 0, 0, PAGE).catch(() => undefined);
        from.close();
        to.close();
      } else if (r < 9) {
        pool.closeSync();
        pool = Pool.openOn(dev);
      } else {
        const f = pool.open(pick(), { sync: true });
        await f.truncate(rng.int(2 * PAGE));
        f.close();
      }
      const report = pool.check();
      if (!report.ok || report.files !== names().length) {
        throw new Error(`step ${step}: ${JSON.stringify(report.problems)} (${report.files} files, the pool has ${names().length})`);
      }
    }
    pool.closeSync();
  });
});
