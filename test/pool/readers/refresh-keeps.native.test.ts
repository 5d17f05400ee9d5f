import { afterEach, describe, expect, it, vi } from 'vitest';
import { Device, Pool } from '../../../lib';
import { Journal } from '../../../lib/pool/journal';
import { pickSuperblock } from '../../../lib/pool/load';
import { InodeCache } from '../../../lib/pool/inode-cache';
import { rng } from '../../support/rng';
import { poolPerTest } from './support';

// A reader's refresh keeps the records it finds and applies them when a call needs what they change
// (docs/design.md, "What a refresh costs"): a call about a name the records neither give nor take from its
// holder answers from the state as it is; every other call, and a refresh that changes a file open, applies
// them first. Either way each answer is the refreshed commit's.

const KiB = 1024;
const SHARED = 0x2000;

/** Device offsets where the journal's records start, in order, as far as they run. */
function recordStarts(d: Device, path: string): number[] {
  const j = pickSuperblock(d, path).sb.journalStart * 4096;
  const starts: number[] = [];
  for (let at = j; ; ) {
    const h = Buffer.from(d.readSafe(at, 32));
    if (h.readUInt32LE(0) !== 0x4345524a) return starts;
    starts.push(at);
    at = j + Math.ceil((at - j + 32 + h.readUInt32LE(24)) / 64) * 64;
  }
}

/**
 * `steps` random changes by the writer `w`, refreshes of the reader `r` at random, and random questions to it, each
 * answer checked against the writer's files as of the reader's last refresh.
 */
function randomChanges(seed: number, w: Pool, r: Pool, steps = 1500): void {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const names = Array.from({ length: 12 }, (_, i) => `n${i}`);
  // The writer's files: name -> [size, fill byte]; `seen` as of the reader's last refresh.
  const files = new Map<string, [number, number]>();
  let seen = new Map<string, [number, number]>();
  const held = new Map<string, ReturnType<Pool['open']>>();
  for (let step = 0; step < steps; step++) {
    const x = random();
    const name = pick(names);
    if (x < 0.3) {
      const fill = 1 + Math.floor(random() * 250);
      const size = Math.floor(random() * 3 * 4096);
      const f = w.open(name, { create: true, truncate: true, sync: true });
      f.writeSync(Buffer.alloc(size, fill), 0);
      f.close();
      files.set(name, [size, fill]);
    } else if (x < 0.4 && files.has(name)) {
      w.unlink(name);
      files.delete(name);
    } else if (x < 0.5 && files.has(name)) {
      const to = pick(names);
      w.rename(name, to);
      const v = files.get(name) as [number, number];
      files.delete(name);
      files.set(to, v);
    } else if (x < 0.6) {
      r.refresh();
      seen = new Map(files);
    } else if (x < 0.65 && seen.has(name) && !held.has(name)) {
      held.set(name, r.open(name, { readonly: true }));
    } else if (x < 0.7 && held.size > 0) {
      const [n, f] = [...held][0] as [string, ReturnType<Pool['open']>];
      f.close();
      held.delete(n);
    } else if (x < 0.75) {
      expect([...r.list()].sort(), `step ${step}`).toEqual([...seen.keys()].sort());
    } else {
      const want = seen.get(name);
      expect(r.exists(name), `step ${step}: ${name}`).toBe(want !== undefined);
      if (want === undefined) continue;
      expect(r.stat(name).size, `step ${step}: ${name}`).toBe(want[0]);
      const f = r.open(name, { readonly: true });
      const b = Buffer.alloc(want[0]);
      f.readSync(b, 0);
      f.close();
      expect(b.equals(Buffer.alloc(want[0], want[1])), `step ${step}: ${name}`).toBe(true);
    }
  }
  for (const f of held.values()) f.close();
}

describe('records a refresh keeps', () => {
  // A journal large enough that nothing below checkpoints: refreshes follow the journal.
  const pool = poolPerTest({ size: 32 * 1024 * KiB, journalBytes: 4096 * KiB });
  const open: Pool[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const p of open.splice(0)) p.closeSync();
  });

  function pools(names: readonly string[]): { w: Pool; r: Pool } {
    const w = Pool.open(pool.path);
    open.push(w);
    for (const n of names) {
      const f = w.open(n, { create: true, sync: true });
      f.writeSync(Buffer.alloc(100, n.charCodeAt(0)), 0);
      f.close();
    }
    const r = Pool.open(pool.path, { readonly: true });
    open.push(r);
    return { w, r };
  }

  it('are applied by the first call about what they change, not by the refresh nor by calls about the rest', () => {
    const { w, r } = pools(['a', 'b', 'c', 'u']);
    expect(r.stat('u').size).toBe(100);
    const settle = vi.spyOn(Journal.prototype, 'settle');
    const fa = w.open('a', { sync: true });
    fa.writeSync(Buffer.alloc(50, 1), 100);
    fa.close();
    w.rename('c', 'e');
    w.open('d', { create: true }).close();
    r.refresh();
    expect(settle).not.toHaveBeenCalled();
    // Untouched: a file the records do not change, a name they do not give.
    expect(r.stat('u').size).toBe(100);
    expect(r.stat('b').size).toBe(100);
    expect(r.exists('nothing')).toBe(false);
    expect(() => r.stat('nothing')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(settle).not.toHaveBeenCalled();
    // A name whose holder the records rename: applied, and answered as the refreshed commit.
    expect(r.exists('c')).toBe(false);
    expect(settle).toHaveBeenCalledTimes(1);
    expect(r.stat('a').size).toBe(150);
    expect(r.exists('d')).toBe(true);
    expect(r.exists('e')).toBe(true);
  });

  it.each([
    ['a name the records give', (r: Pool) => r.exists('new'), true],
    ['a file the records change', (r: Pool) => r.stat('a').size, 150],
    ['a name the records take away', (r: Pool) => r.exists('b'), false],
    ['an open of a file the records change', (r: Pool) => r.open('a', { readonly: true }).size, 150],
    ['a listing', (r: Pool) => [...r.list()].sort(), ['a', 'c', 'new']],
    ['statfs', (r: Pool) => r.statfs().files, 3],
  ] as const)('%s applies them', (_, call, expected) => {
    const { w, r } = pools(['a', 'b', 'c']);
    const settle = vi.spyOn(Journal.prototype, 'settle');
    w.open('new', { create: true }).close();
    w.unlink('b');
    const fa = w.open('a', { sync: true });
    fa.writeSync(Buffer.alloc(50, 1), 100);
    fa.close();
    r.refresh();
    expect(settle).not.toHaveBeenCalled();
    expect(call(r)).toEqual(expected);
    expect(settle).toHaveBeenCalledTimes(1);
  });

  it('names of every script are asked about as the records hold them (the hashes agree)', () => {
    const names = ['é', 'naïve café', '名前', 'ключ', '🙂 emoji', 'a'.repeat(255), '\u{10ffff}x'];
    const { w, r } = pools([]);
    for (const n of names) w.open(n, { create: true }).close();
    r.refresh();
    for (const n of names) expect(r.exists(n), n).toBe(true);
  });

  it('a refresh whose records change a file open on the reader applies them at once', () => {
    const { w, r } = pools(['a', 'b']);
    const fa = r.open('a', { readonly: true });
    const settle = vi.spyOn(Journal.prototype, 'settle');
    const fb = w.open('b', { sync: true });
    fb.writeSync(Buffer.alloc(10, 2), 100);
    fb.close();
    r.refresh();
    expect(settle).not.toHaveBeenCalled();
    const wa = w.open('a', { sync: true });
    wa.writeSync(Buffer.alloc(10, 2), 100);
    wa.close();
    r.refresh();
    expect(settle).toHaveBeenCalledTimes(1);
    expect(fa.size).toBe(110);
    fa.close();
  });

  it('a clone (a reference count the index cannot tie to a file) is applied before any call, and at a refresh with a file open', async () => {
    const { w, r } = pools(['src', 'other']);
    const fs = r.open('src', { readonly: true });
    const src = w.open('src');
    const dst = w.open('dst', { create: true });
    await src.clone(dst, 0, 0, 100);
    src.close();
    dst.close();
    const settle = vi.spyOn(Journal.prototype, 'settle');
    r.refresh();
    expect(settle).toHaveBeenCalledTimes(1);
    expect((fs.fiemap()[0]?.flags ?? 0) & SHARED).toBe(SHARED);
    fs.close();
  });

  it('a refresh that throws at a damaged record still applies the records before it that change a file open', () => {
    const { w, r } = pools(['x']);
    const fx = r.open('x', { readonly: true });
    const wx = w.open('x', { sync: true });
    wx.writeSync(Buffer.alloc(100, 2), 100);
    wx.close();
    w.open('y', { create: true }).close();
    w.open('z', { create: true }).close();
    // The record making y damaged on the media, a whole one after it: ERR_PMEMDAX_CORRUPT, as for an open.
    const d = Device.open(pool.path);
    const starts = recordStarts(d, pool.path);
    const at = (starts[starts.length - 2] as number) + 40;
    const b = Buffer.from(d.readSafe(at, 1));
    b[0] = (b[0] as number) ^ 0xff;
    d.copy(at, b);
    d.close();
    expect(() => r.refresh()).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
    expect(fx.size).toBe(200);
    const got = Buffer.alloc(200);
    fx.readSync(got, 0);
    expect(got.equals(Buffer.concat([Buffer.alloc(100, 'x'.charCodeAt(0)), Buffer.alloc(100, 2)]))).toBe(true);
    expect(r.exists('y')).toBe(false);
    fx.close();
  });

  it('a file kept open on an older snapshot (across a checkpoint) does not make a refresh apply records that change its number', () => {
    const { w: first, r } = pools(['a']);
    let w = first;
    const fa = r.open('a', { readonly: true });
    // A clean close checkpoints: the reader's next refresh takes a new snapshot, and `fa` stays on the old one.
    w.closeSync();
    w = Pool.open(pool.path);
    open.push(w);
    r.refresh();
    const f = w.open('a', { sync: true });
    f.writeSync(Buffer.alloc(100, 0x77), 0);
    f.close();
    const settle = vi.spyOn(Journal.prototype, 'settle');
    r.refresh();
    expect(settle).not.toHaveBeenCalled();
    const b = Buffer.alloc(100);
    fa.readSync(b, 0);
    expect(b.equals(Buffer.alloc(100, 'a'.charCodeAt(0)))).toBe(true);
    r.open('a', { readonly: true }).readSync(b, 0);
    expect(b.equals(Buffer.alloc(100, 0x77))).toBe(true);
    fa.close();
  });

  it('exists() reads no inode to tell that the records do not change a name', () => {
    const { w, r } = pools(['a', 'b']);
    // The records of the files made before the reader's open applied (a listing), then one more kept.
    expect(r.statfs().files).toBe(2);
    w.open('c', { create: true }).close();
    r.refresh();
    const settle = vi.spyOn(Journal.prototype, 'settle');
    const inodes = vi.spyOn(InodeCache.prototype, 'get');
    expect(r.exists('a')).toBe(true);
    expect(r.exists('absent-name')).toBe(false);
    expect(inodes).not.toHaveBeenCalled();
    expect(settle).not.toHaveBeenCalled();
    expect(r.stat('a').size).toBe(100);
  });

  it.each([1, 2, 3])('random changes and random questions: every answer is the refreshed commit (seed %i)', (seed) => {
    const { w, r } = pools([]);
    randomChanges(seed, w, r);
  });
});

describe('records a refresh keeps, across checkpoints', () => {
  // A small journal, which the writer fills again and again: refreshes follow it, or take a new snapshot after a
  // checkpoint (whose load takes over the reader's buffer, Journal.handOver), in turn.
  const pool = poolPerTest({ size: 32 * 1024 * KiB, journalBytes: 64 * KiB });

  it.each([1, 2])('random changes and random questions: every answer is the refreshed commit (seed %i)', (seed) => {
    const w = Pool.open(pool.path);
    const r = Pool.open(pool.path, { readonly: true });
    const handOver = vi.spyOn(Journal.prototype, 'handOver');
    try {
      randomChanges(seed, w, r, 8000);
      expect(handOver.mock.calls.length).toBeGreaterThan(3);
    } finally {
      handOver.mockRestore();
      r.closeSync();
      w.closeSync();
    }
  });
});
