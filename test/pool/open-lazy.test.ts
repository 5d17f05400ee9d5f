import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { decodeSuperblock, encodeSuperblock, isSuperblock } from '../../lib/pool/layout';
import { InodeCache, INODE_CACHE_LIMIT, RECENT_USES } from '../../lib/pool/inode-cache';
import { MemoryDevice } from '../../lib/testing';
import { craftRecord } from './support/craft';

// An open after a clean close reads no inode (docs/design.md, "Opening in constant time"): the inodes are a
// bounded cache over the trees, and every call must see one inode per file, whatever was dropped meanwhile.

const MiB = 1024 * 1024;
const name = (i: number): string => `f${String(i).padStart(5, '0')}`;

function pool(files: number, size = 16 * MiB): MemoryDevice {
  const dev = new MemoryDevice(size);
  const p = Pool.createOn(dev);
  for (let i = 0; i < files; i++) p.open(name(i), { create: true }).close();
  p.closeSync();
  return dev;
}

afterEach(() => {
  InodeCache.defaultLimit = INODE_CACHE_LIMIT;
});

describe('an open after a clean close reads no inode', () => {
  it('holds none after the open, counts every file, and reads one per lookup that needs it', () => {
    const dev = pool(300);
    const p = Pool.openOn(dev);
    expect(p.stats().inodesInMemory).toBe(0);
    expect(p.statfs().files).toBe(300);
    // `exists` answers from the names tree alone.
    expect(p.exists(name(7))).toBe(true);
    expect(p.exists('missing')).toBe(false);
    expect(p.stats().inodesInMemory).toBe(0);
    expect(p.stat(name(7)).name).toBe(name(7));
    expect(p.stats().inodesInMemory).toBe(1);
    expect([...p.list({ prefix: 'f001', limit: 5 })]).toEqual([100, 101, 102, 103, 104].map(name));
    expect(p.stats().inodesInMemory).toBe(1);
    p.closeSync();
  });

  it('after a crash keeps only the inodes the journal changed', () => {
    InodeCache.defaultLimit = 8;
    const dev = pool(100);
    const p = Pool.openOn(dev);
    p.open('new', { create: true }).close();
    p.unlink(name(3));
    // No close: the pool is dirty with two records in its journal.
    const again = Pool.openOn(dev, { readonly: true });
    expect(again.info.recovery.replayed).toBe(2);
    expect(again.statfs().files).toBe(100);
    expect(again.stats().inodesInMemory).toBeLessThanOrEqual(8);
    expect(again.exists('new')).toBe(true);
    expect(again.exists(name(3))).toBe(false);
    expect(again.check().problems).toEqual([]);
    again.closeSync();
  });

  it('the superblock records what the open takes from it, and check verifies it', () => {
    const dev = pool(50);
    const sb = decodeSuperblock(dev.bytes.subarray(0, 4096));
    if (!isSuperblock(sb)) throw new Error('no superblock');
    expect(sb.inodeCount).toBe(50);
    expect(sb.orphans).toBe(0);
    expect(sb.metaBytes).toBeGreaterThan(0);
    const p = Pool.openOn(dev, { readonly: true });
    expect(p.check().problems).toEqual([]);
    p.closeSync();
    // Counts that understate the checkpoint (checksums right): check reports both.
    const bytes = encodeSuperblock({ ...sb, metaBytes: 10, orphans: 1 });
    dev.bytes.set(bytes, 0);
    dev.bytes.set(bytes, dev.bytes.length - 4096);
    const q = Pool.openOn(dev, { readonly: true });
    expect(q.check().problems.map((x) => [x.what, x.where])).toEqual([['counter', 'superblock'], ['counter', 'superblock']]);
    q.closeSync();
  });

  it('a file open across evictions stays one inode: its writes are what lookups, stat and a reopen see', () => {
    InodeCache.defaultLimit = 4;
    const dev = pool(200);
    const p = Pool.openOn(dev);
    const f = p.open(name(5));
    f.writeSync(Buffer.from('held'), 0);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 200; i++) expect(p.stat(name(i)).ino).toBeGreaterThan(0);
      // The bound: the limit, the recently used, the file held open, and a few the sweep has not reached yet.
      expect(p.stats().inodesInMemory).toBeLessThanOrEqual(4 + RECENT_USES + 16);
      f.writeSync(Buffer.from([round]), 4 + round);
      expect(p.stat(name(5)).size).toBe(5 + round);
    }
    f.close();
    // Changed since the checkpoint: kept in memory until one is written, however small the cache.
    p.rename(name(6), 'renamed');
    p.unlink(name(7));
    for (let i = 0; i < 200; i++) p.exists(name(i));
    expect(p.exists(name(6))).toBe(false);
    expect(p.stat('renamed').size).toBe(0);
    expect(p.statfs().files).toBe(199);
    p.closeSync();
    const q = Pool.openOn(dev);
    const buf = Buffer.alloc(7);
    const g = q.open(name(5));
    g.readSync(buf, 0);
    g.close();
    expect(buf).toEqual(Buffer.from([...Buffer.from('held'), 0, 1, 2]));
    expect(q.exists('renamed')).toBe(true);
    expect(q.exists(name(7))).toBe(false);
    expect(q.statfs().files).toBe(199);
    expect(q.check().problems).toEqual([]);
    q.closeSync();
  });

  it('a file unlinked while open is nameless until its last close, then gone, across evictions', () => {
    InodeCache.defaultLimit = 2;
    const dev = pool(40);
    const p = Pool.openOn(dev);
    const f = p.open(name(1));
    f.writeSync(Buffer.alloc(8192, 1), 0);
    p.unlink(name(1));
    expect(p.statfs().files).toBe(39);
    for (let i = 0; i < 40; i++) p.exists(name(i));
    for (let i = 2; i < 40; i++) p.stat(name(i));
    const buf = Buffer.alloc(8192);
    f.readSync(buf, 0);
    expect(buf.every((b) => b === 1)).toBe(true);
    f.close();
    expect(p.statfs().files).toBe(39);
    p.closeSync();
    const q = Pool.openOn(dev, { readonly: true });
    expect(q.statfs().files).toBe(39);
    expect(q.check().problems).toEqual([]);
    q.closeSync();
  });

  it('after a crash whose media check clean, the open reads only the inodes the journal names; the recovered pool is whole, its orphans freed', () => {
    const dev = pool(300);
    const p = Pool.openOn(dev);
    p.open('new', { create: true }).writeSync(Buffer.alloc(5000, 7), 0);
    p.unlink(name(3));
    const f5 = p.open(name(5));
    f5.writeSync(Buffer.alloc(9000, 5), 0);
    f5.fsyncSync();
    p.rename(name(7), 'seven');
    // Open and unlinked at the crash: nameless, freed by the recovery.
    const orphan = p.open(name(9));
    orphan.writeSync(Buffer.alloc(4096, 9), 0);
    orphan.fsyncSync();
    p.unlink(name(9));
    p.sync();
    // No close: a crash. A reader first (it writes nothing), then the writer that recovers.
    const r = Pool.openOn(dev, { readonly: true });
    expect(r.info.recovery.replayed).toBeGreaterThan(0);
    expect(r.stats().inodesInMemory).toBeLessThan(10);
    expect(r.statfs().files).toBe(299);
    r.closeSync();
    const w = Pool.openOn(dev);
    expect(w.info.recovery).toMatchObject({ orphansFreed: 1, problems: [] });
    expect(w.info.recovery.replayed).toBeGreaterThan(0);
    expect(w.stats().inodesInMemory).toBeLessThan(10);
    expect(w.statfs().files).toBe(299);
    expect(w.exists(name(3)) || w.exists(name(7)) || w.exists(name(9))).toBe(false);
    const read = (n: string): Buffer => {
      const f = w.open(n, { readonly: true });
      const b = Buffer.alloc(f.size);
      f.readSync(b, 0);
      void f.close();
      return b;
    };
    expect(read('new').equals(Buffer.alloc(5000, 7))).toBe(true);
    expect(read(name(5)).equals(Buffer.alloc(9000, 5))).toBe(true);
    expect(w.exists('seven')).toBe(true);
    expect(w.check().problems).toEqual([]);
    w.closeSync();
    const again = Pool.openOn(dev, { readonly: true });
    expect(again.info.recovery.replayed).toBe(0);
    expect(again.statfs().files).toBe(299);
    expect(again.check().problems).toEqual([]);
    again.closeSync();
  });

  it('a record that gives a name to one inode before the inode holding it in the checkpoint is renamed away: the lazy recovery ends as the whole load does', () => {
    const crafted = (): MemoryDevice => {
      const dev = new MemoryDevice(4 * MiB);
      const p = Pool.createOn(dev);
      for (const n of ['N', 'X', 'pad']) p.open(n, { create: true }).writeSync(Buffer.from(n), 0);
      p.closeSync();
      // Valid checksums, an order the pool itself never journals (it renames the holder away first).
      craftRecord(dev, (t) => {
        const holder = t.named.find((i) => i.name === 'N');
        const taker = t.named.find((i) => i.name === 'X');
        if (holder === undefined || taker === undefined) throw new Error('no such files');
        t.s.namespaceOps.push({ op: 'name', ino: taker.ino, name: 'N' });
        t.s.namespaceOps.push({ op: 'name', ino: holder.ino, name: 'other' });
      });
      return dev;
    };
    const view = (p: Pool): string[] => [...p.list()].sort().map((n) => {
      const f = p.open(n, { readonly: true });
      const b = Buffer.alloc(f.size);
      f.readSync(b, 0);
      void f.close();
      return `${n}:${p.stat(n).ino}:${b.toString()}`;
    });
    const whole = Pool.openOn(crafted(), { verify: true });
    const want = view(whole);
    whole.closeSync();
    expect(want).toEqual(['N:2:X', 'other:1:N', 'pad:3:pad']);
    const dev = crafted();
    const r = Pool.openOn(dev, { readonly: true });
    expect(view(r)).toEqual(want);
    r.closeSync();
    const w = Pool.openOn(dev);
    expect(view(w)).toEqual(want);
    expect(w.open('N', { create: true }).ino).toBe(2);
    expect(w.check().problems).toEqual([]);
    w.closeSync();
    const again = Pool.openOn(dev, { verify: true });
    expect(view(again)).toEqual(want);
    expect(again.check().problems).toEqual([]);
    again.closeSync();
  });

  it('verify: the open reads every inode first, then keeps the bounded cache', () => {
    InodeCache.defaultLimit = 16;
    const dev = pool(100);
    const p = Pool.openOn(dev, { verify: true });
    expect(p.stats().inodesInMemory).toBeLessThanOrEqual(16);
    for (let i = 0; i < 100; i++) p.stat(name(i));
    expect(p.stats().inodesInMemory).toBeLessThanOrEqual(16 + RECENT_USES);
    expect(p.statfs().files).toBe(100);
    p.closeSync();
  });

  it('verify holds with create too: an open-or-create of an existing pool file reads every inode first', () => {
    InodeCache.defaultLimit = 16;
    const dir = mkdtempSync(join(tmpdir(), 'pmemdax-verify-'));
    try {
      const path = join(dir, 'pool');
      const made = Pool.open(path, { create: { size: 16 * MiB } });
      for (let i = 0; i < 100; i++) made.open(name(i), { create: true }).close();
      made.closeSync();
      const lazy = Pool.open(path, { create: { size: 16 * MiB } });
      expect(lazy.stats().inodesInMemory).toBe(0);
      lazy.closeSync();
      const verified = Pool.open(path, { create: { size: 16 * MiB }, verify: true });
      expect(verified.stats().inodesInMemory).toBe(16);
      verified.closeSync();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([null, 1, 'yes', {}])('verify must be a boolean: %s is ERR_INVALID_ARG_TYPE', (bad) => {
    const dev = pool(1);
    expect(() => Pool.openOn(dev, { verify: bad as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('a listing that outlives evictions and renames returns each name there throughout once', () => {
    InodeCache.defaultLimit = 3;
    const dev = pool(600);
    const p = Pool.openOn(dev);
    const seen: string[] = [];
    let i = 0;
    for (const n of p.list()) {
      seen.push(n);
      if (i++ === 300) {
        p.rename(name(599), 'a-first');
        p.unlink(name(598));
      }
      p.stat(n);
    }
    expect(seen).toContain(name(300));
    expect(seen).not.toContain(name(598));
    expect(seen).not.toContain(name(599));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(598);
    p.closeSync();
  });
});
