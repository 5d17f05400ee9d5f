import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import type { Claims } from '../../lib/pool/claims';
import { Codec } from '../../lib/pool/codec';
import { NO_BLOCK } from '../../lib/pool/layout';
import { loadPool } from '../../lib/pool/load';
import { followJournal } from '../../lib/pool/reader';
import { applyOps, bornAndGone, type Passing } from '../../lib/pool/records';
import { MemoryDevice } from '../../lib/testing/memory-device';

// A reader's refresh (Journal.more with `passing`) that meets an error: what it applied and what it leaves
// for the next refresh (docs/design.md, "What a refresh costs").

const MiB = 1024 * 1024;

/** A writer on a fresh pool in memory with `old` files checkpointed, and a reader's state loaded beside it. */
function setUp(old: number): { dev: MemoryDevice; w: Pool; loaded: ReturnType<typeof loadPool> } {
  const dev = new MemoryDevice(32 * MiB);
  const made = Pool.createOn(dev, { path: 'p', journalBytes: MiB });
  for (let i = 0; i < old; i++) made.open(`old${i}`, { create: true }).close();
  made.closeSync();
  const w = Pool.openOn(dev, { path: 'p' });
  return { dev, w, loaded: loadPool(dev, 'p', { live: true }) };
}

describe('a refresh that meets an error', () => {
  it('one that fails part way through applying leaves its state to a new snapshot: followJournal says so', () => {
    const { dev, w, loaded } = setUp(3);
    const s = loaded.state;
    // x is made and removed by the records of one refresh (skipped); old0, read from the trees between, fails once.
    w.open('x', { create: true }).close();
    w.rename('old0', 'old0b');
    w.unlink('x');
    const tree = s.trees.inodes as unknown as { get: (key: Buffer) => unknown };
    const get = tree.get.bind(tree);
    let fail = true;
    tree.get = (key: Buffer) => {
      if (fail) {
        fail = false;
        throw Object.assign(new Error('EIO (injected)'), { code: 'EIO' });
      }
      return get(key);
    };
    expect(loaded.journal.outOfStep).toBe(false);
    expect(() => loaded.journal.more(s, true, true)).toThrow('EIO (injected)');
    expect(loaded.journal.outOfStep).toBe(true);
    // The claims are not asked: a state part way cannot follow the journal.
    expect(followJournal(dev, 'p', null as unknown as Claims, loaded, { epoch: loaded.journal.epoch, seq: 0 })).toBeNull();
    w.closeSync();
  });

  it('poison in the journal past the last record: the refresh reads only what it needs, and applies every record', () => {
    const { dev, w, loaded } = setUp(0);
    const j = loaded.journal;
    w.open('first', { create: true }).close();
    j.more(loaded.state, true, true);
    for (let i = 0; i < 40; i++) w.open(`f${i}`, { create: true }).close();
    const end = j.offset + j.tail + 41 * 64;
    dev.injectBadblock(end - (end % 4096) + 4096, 4096);
    const r = j.more(loaded.state, true, true);
    expect(r.records).toBe(40);
    expect(j.seq).toBe(41);
    expect(loaded.state.names.has('f39')).toBe(true);
    w.closeSync();
  });

  it('poison among the records: those before it are applied, then EIO; once it is repaired the next refresh goes on', () => {
    const { dev, w, loaded } = setUp(0);
    const j = loaded.journal;
    const names = Array.from({ length: 200 }, (_, i) => `file-with-a-long-name-${i}`);
    for (const n of names) w.open(n, { create: true }).close();
    const page = j.offset + 8192;
    const saved = Buffer.alloc(4096);
    dev.copySafe(page, saved);
    dev.injectBadblock(page, 4096);
    expect(() => j.more(loaded.state, true, true)).toThrow(expect.objectContaining({ code: 'EIO' }));
    const applied = j.seq;
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(200);
    expect(j.outOfStep).toBe(false);
    expect(names.filter((n) => loaded.state.names.has(n))).toEqual(names.slice(0, applied));
    dev.clearBadblocks(page, 4096, saved);
    j.more(loaded.state, true, true);
    expect(j.seq).toBe(200);
    expect(names.every((n) => loaded.state.names.has(n))).toBe(true);
    w.closeSync();
  });
});

describe('operations a refresh skips are checked as a replay checks them', () => {
  const CREATE = 1;
  const NAME = 2;
  const DROP = 3;
  const MAP = 5;
  /** Records (each writes its operations, returns their count), run through `bornAndGone` and `applyOps` as a refresh runs them. */
  function refresh(...records: ((c: Codec) => number)[]): { skipped: boolean; apply: () => void } {
    const { w, loaded } = setUp(0);
    w.closeSync();
    const made = records.map((write) => {
      const c = new Codec(new Uint8Array(4096));
      const count = write(c);
      return { bytes: c.bytes.subarray(0, c.pos), count };
    });
    const born = new Map<number, boolean>();
    const gone = new Set<number>();
    for (const m of made) bornAndGone(new Codec(m.bytes), m.count, loaded.state.nextIno, born, gone);
    const skip: Passing = new Map([...gone].map((ino) => [ino, 0 as const]));
    return { skipped: gone.size > 0, apply: () => made.forEach((m) => applyOps(loaded.state, new Codec(m.bytes), m.count, skip)) };
  }
  const create = (c: Codec, ino: number, name: Uint8Array): void => {
    c.putU8(CREATE);
    c.putU32(ino);
    c.putU64(0);
    c.putU16(name.length);
    c.putRaw(name);
  };
  const drop = (c: Codec, ino: number): void => {
    c.putU8(DROP);
    c.putU32(ino);
  };
  const map = (c: Codec, ino: number, block: number): void => {
    c.putU8(MAP);
    c.putU32(ino);
    c.putU32(0);
    c.putU32(1);
    c.putU32(block);
    c.putU8(0);
  };
  const rename = (c: Codec, ino: number, name: Uint8Array): void => {
    c.putU8(NAME);
    c.putU32(ino);
    c.putU16(name.length);
    c.putRaw(name);
  };
  const x = Buffer.from('x');

  it('a file made and removed is skipped, and its inode number counted as used', () => {
    const r = refresh((c) => {
      create(c, 50, x);
      drop(c, 50);
      return 2;
    });
    expect(r.skipped).toBe(true);
    expect(r.apply).not.toThrow();
  });

  it.each([
    ['a name with a NUL', (c: Codec) => (create(c, 50, Buffer.from('a\0b')), 1), 'name contains NUL'],
    ['a name that is not UTF-8', (c: Codec) => (create(c, 50, Buffer.from([0x61, 0xff])), 1), 'not UTF-8'],
    ['no name', (c: Codec) => (create(c, 50, new Uint8Array(0)), 1), 'create without a name'],
    ['inode 0', (c: Codec) => (create(c, 0, x), 1), 'created twice'],
  ])('%s: not skipped, and applying it reports it', (_what, bad, message) => {
    const r = refresh(bad, (c) => (drop(c, 50), 1));
    expect(r.skipped).toBe(false);
    expect(r.apply).toThrow(message);
  });

  it.each([
    ['a map of the superblock', (c: Codec) => (map(c, 50, 0), 1), 'outside the data area'],
    ['an operation after the drop', (c: Codec) => (drop(c, 50), map(c, 50, 0), 2), 'inode 50 does not exist'],
    ['a rename to a bad name', (c: Codec) => (rename(c, 50, Buffer.from('a\0b')), 1), 'name contains NUL'],
    ['a rename to a name too long', (c: Codec) => (rename(c, 50, Buffer.alloc(256, 0x61)), 1), 'name of 256 bytes'],
  ])('%s on a skipped file is reported', (_what, between, message) => {
    const r = refresh((c) => (create(c, 50, x), 1), between, (c) => (drop(c, 50), 1));
    expect(r.skipped).toBe(true);
    expect(r.apply).toThrow(message);
  });

  it('a bad name in a rename that follows other operations of its record is reported', () => {
    const r = refresh((c) => (create(c, 50, x), map(c, 50, NO_BLOCK), rename(c, 50, Buffer.from('a\0b')), 3), (c) => (drop(c, 50), 1));
    expect(r.skipped).toBe(true);
    expect(r.apply).toThrow('name contains NUL');
  });

  it('an unknown operation code is reported, whatever the skip', () => {
    const r = refresh((c) => {
      create(c, 50, x);
      drop(c, 50);
      c.putU8(0);
      c.putU32(50);
      return 3;
    });
    expect(r.skipped).toBe(true);
    expect(r.apply).toThrow('unknown operation 0');
  });
});
