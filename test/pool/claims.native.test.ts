import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device } from '../../lib';
import { Claims, comparePoints, type CommitPoint } from '../../lib/pool/claims';
import { DeferredFrees } from '../../lib/pool/deferred-frees';
import { Prng } from '../dax/support/prng';
import { scratchDir } from '../support/scratch';

// Readers' claims as range locks (lib/pool/claims.ts) and the frees that wait for them (deferred-frees.ts),
// over real locks held by other opens of one file.

const JOURNAL_BLOCKS = 128;

describe('claims and deferred frees', () => {
  let s: ReturnType<typeof scratchDir>;
  let path: string;
  const open: Device[] = [];
  const device = (readonly = true): Device => {
    const d = Device.open(path, readonly ? { readonly: true } : { create: true, size: 1 << 20 });
    open.push(d);
    return d;
  };
  let writer: Claims;
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    path = s.file('pool');
    writer = new Claims(device(false), JOURNAL_BLOCKS);
  });
  afterEach(() => {
    for (const d of open.splice(0)) if (!d.closed) d.close();
    s.cleanup();
  });

  it('finds the oldest claim among random ones held by other opens, before any point', () => {
    const rng = new Prng(0x5eed);
    const readers = Array.from({ length: 24 }, () => new Claims(device(), JOURNAL_BLOCKS));
    const perEpoch = (JOURNAL_BLOCKS * 4096) / 64 + 1;
    for (let round = 0; round < 30; round++) {
      const held: CommitPoint[] = [];
      for (const r of readers) {
        if (rng.int(3) === 0) continue;
        // Few epochs and seqs, so that readers share points and neighbours.
        const p = { epoch: rng.int(4) + (round % 2 === 0 ? 0 : 2 ** 40), seq: rng.int(3) === 0 ? perEpoch - 1 : rng.int(6) };
        expect(r.claim(p)).toBe(true);
        held.push(p);
      }
      const sorted = [...held].sort(comparePoints);
      expect(writer.oldest()).toEqual(sorted[0] ?? null);
      expect(writer.anyBefore()).toBe(held.length > 0);
      for (let k = 0; k < 5; k++) {
        const before = sorted[rng.int(Math.max(1, sorted.length))] ?? { epoch: 1, seq: 0 };
        const older = sorted.filter((p) => comparePoints(p, before) < 0);
        expect(writer.oldest(before)).toEqual(older[0] ?? null);
        expect(writer.anyBefore(before)).toBe(older.length > 0);
      }
      for (const d of open.slice(1)) d.close();
      open.splice(1);
      readers.splice(0, readers.length, ...Array.from({ length: 24 }, () => new Claims(device(), JOURNAL_BLOCKS)));
    }
  });

  it('a checkpoint lock is seen by readers and only while held', () => {
    const reader = new Claims(device(), JOURNAL_BLOCKS);
    expect(reader.checkpointBusy()).toBe(false);
    writer.checkpointing(true);
    expect(reader.checkpointBusy()).toBe(true);
    writer.checkpointing(false);
    expect(reader.checkpointBusy()).toBe(false);
  });

  it('a deferred run is freed once no claim is older than the commit that freed it, in the order freed', () => {
    let now: CommitPoint = { epoch: 3, seq: 0 };
    const later = new DeferredFrees(writer, () => now);
    const freed: number[] = [];
    const release = (): number => later.release((b, n) => freed.push(b, n));
    const reader = new Claims(device(), JOURNAL_BLOCKS);
    expect(release()).toBe(0);
    // With no reader a free goes at the first release.
    later.push(100, 4);
    expect(release()).toBe(4);
    expect(freed).toEqual([100, 4]);
    // A reader at (3, 2): what commits (3, 1) and (3, 2) freed goes, what (3, 3) and the checkpoint of epoch 4 freed waits.
    expect(reader.claim({ epoch: 3, seq: 2 })).toBe(true);
    now = { epoch: 3, seq: 1 };
    later.push(200, 1);
    later.push(201, 1);
    now = { epoch: 3, seq: 2 };
    later.push(300, 2);
    now = { epoch: 3, seq: 3 };
    later.push(400, 8);
    now = { epoch: 4, seq: 0 };
    later.push(500, 1);
    expect(later.blocks).toBe(13);
    expect(later.runs).toBe(4);
    freed.length = 0;
    expect(release()).toBe(4);
    expect(freed).toEqual([200, 2, 300, 2]);
    expect(later.blocks).toBe(9);
    // A tag older than the last one pushed is raised to it: it can only wait longer.
    later.pushAt({ epoch: 1, seq: 0 }, 600, 1);
    expect([...later.entries()]).toEqual([[400, 8], [500, 1], [600, 1]]);
    // The reader moves to (4, 0): everything goes.
    expect(reader.claim({ epoch: 4, seq: 0 })).toBe(true);
    reader.drop({ epoch: 3, seq: 2 });
    freed.length = 0;
    expect(release()).toBe(10);
    expect(freed).toEqual([400, 8, 500, 1, 600, 1]);
    expect(later.blocks).toBe(0);
    expect(later.runs).toBe(0);
  });

  it('many runs released a few at a time keep their order', () => {
    let seq = 0;
    const later = new DeferredFrees(writer, () => ({ epoch: 1, seq }));
    const reader = new Claims(device(), JOURNAL_BLOCKS);
    const freed: number[] = [];
    for (seq = 1; seq <= 5000; seq++) later.push(seq * 2, 1);
    for (let at = 0; at <= 5000; at += 250) {
      expect(reader.claim({ epoch: 1, seq: at })).toBe(true);
      if (at > 0) reader.drop({ epoch: 1, seq: at - 250 });
      later.release((b) => freed.push(b / 2));
      expect(freed.length).toBe(at);
    }
    expect(freed).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
  });
});
