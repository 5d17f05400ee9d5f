import { describe, expect, it, vi } from 'vitest';
import { PmemdaxError, Pool } from '../../lib';
import { BTree } from '../../lib/pool/meta/btree';
import { NameTable } from '../../lib/pool/name-table';
import { MemoryDevice, StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';

const MiB = 1024 * 1024;

function poolWith(names: readonly string[]): Pool {
  const pool = Pool.createOn(new MemoryDevice(64 * MiB));
  for (const n of names) pool.open(n, { create: true }).close();
  return pool;
}

/** Names in code-point order (UTF-8 byte order): the order `list` promises. */
const byCodePoint = (names: readonly string[]): string[] => [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

const MANY = Array.from({ length: 1000 }, (_, i) => `f/${String((i * 7919) % 1000).padStart(4, '0')}`);

describe('pool.list({ prefix, after, limit }): a lazy iterator in name order', () => {
  it('orders names by code point, not by UTF-16 unit: an astral character sorts after U+FFFD and U+E000', () => {
    const names = ['b', 'a', '\u{1F600}', '\uFFFD', '\uE000', 'é', 'ab', 'a b'];
    using pool = poolWith(names);
    expect([...pool.list()]).toEqual(['a', 'a b', 'ab', 'b', 'é', '\uE000', '\uFFFD', '\u{1F600}']);
    expect([...pool.list()]).toEqual(byCodePoint(names));
  });

  it.each([
    ['given since the checkpoint', false],
    ['all in the names tree (reopened: none given or removed since)', true],
  ])('prefix, after and limit, alone and together, over many batches, match a filter of the sorted names: %s', (_, reopen) => {
    const made = poolWith([...MANY, 'g', 'e', 'f', 'f/', 'fa']);
    let dev: MemoryDevice | null = null;
    if (reopen) {
      dev = made.device as MemoryDevice;
      made.close();
    }
    using pool = dev === null ? made : Pool.openOn(dev);
    const all = byCodePoint([...MANY, 'g', 'e', 'f', 'f/', 'fa']);
    const cases: { prefix?: string; after?: string; limit?: number }[] = [
      {}, { prefix: '' }, { prefix: 'f/' }, { prefix: 'f/05' }, { prefix: 'f/0999' }, { prefix: 'nothing' },
      { after: '' }, { after: 'f/0127' }, { after: 'f/0127x' }, { after: 'zzz' }, { after: 'f/0999' },
      { limit: 0 }, { limit: 1 }, { limit: 127 }, { limit: 128 }, { limit: 129 }, { limit: 256 }, { limit: 257 }, { limit: 5000 }, { limit: Infinity },
      { prefix: 'f/', after: 'f/0500', limit: 300 }, { prefix: 'f/', after: 'e' }, { prefix: 'f/01', after: 'f/0150', limit: 20 },
      { prefix: 'f/', after: 'g' },
    ];
    for (const c of cases) {
      let want = all.filter((n) => n.startsWith(c.prefix ?? '') && (c.after === undefined || Buffer.compare(Buffer.from(n), Buffer.from(c.after)) > 0));
      if (c.limit !== undefined) want = want.slice(0, c.limit);
      expect([...pool.list(c)], JSON.stringify(c)).toEqual(want);
    }
  });

  it('merges the names tree of the last checkpoint with the names given since: a random history of creates, unlinks and renames across many checkpoints and a crash matches a model at every step', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let dev = new MemoryDevice(64 * MiB);
    let pool = Pool.createOn(dev, { journalBytes: 64 * 1024 });
    const model = new Set<string>();
    const pick = (): string => `d/${String(rand(400)).padStart(3, '0')}${rand(3) === 0 ? '\u{1F600}' : ''}`;
    const check = (): void => {
      // Lookups go through the same tree and changes: every name that ever was, present or not.
      for (let i = 0; i < 400; i++) {
        for (const n of [`d/${String(i).padStart(3, '0')}`, `d/${String(i).padStart(3, '0')}\u{1F600}`]) expect(pool.exists(n), n).toBe(model.has(n));
      }
      expect(pool.statfs().files).toBe(model.size);
      const all = byCodePoint([...model]);
      for (const c of [{}, { prefix: 'd/1' }, { prefix: 'd/2', after: 'd/25' }, { after: 'd/3', limit: 7 }, { prefix: 'd/05' }]) {
        const want = all.filter((n) => n.startsWith(c.prefix ?? '') && (c.after === undefined || Buffer.compare(Buffer.from(n), Buffer.from(c.after)) > 0));
        expect([...pool.list(c)], JSON.stringify(c)).toEqual(c.limit === undefined ? want : want.slice(0, c.limit));
      }
    };
    let checkpoints = 0;
    for (let step = 0; step < 12000; step++) {
      const name = pick();
      const op = rand(10);
      if (op < 5) {
        pool.open(name, { create: true }).close();
        model.add(name);
      } else if (op < 8) {
        if (model.delete(name)) pool.unlink(name);
      } else {
        const to = pick();
        if (model.has(name) && to !== name) {
          pool.rename(name, to);
          model.delete(name);
          model.add(to);
        }
      }
      if (step % 500 === 0) check();
      if (step === 7000) {
        checkpoints += pool.stats().checkpoints;
        // A crash: the journal since the last checkpoint is replayed into names given since it.
        const crashed = pool;
        dev = memoryDeviceFromImage(dev.bytes.slice());
        pool = Pool.openOn(dev);
        crashed.close();
        expect(pool.info.recovery.replayed).toBeGreaterThan(0);
        check();
      }
    }
    expect(checkpoints + pool.stats().checkpoints).toBeGreaterThan(3);
    check();
    pool.close();
    using again = Pool.openOn(dev);
    expect([...again.list()]).toEqual(byCodePoint([...model]));
  });

  it('a listing that runs across checkpoints (its pool changing between batches) gives each name there throughout once, in order', () => {
    using pool = Pool.createOn(new MemoryDevice(64 * MiB), { journalBytes: 64 * 1024 });
    for (const n of MANY) pool.open(n, { create: true }).close();
    const startCheckpoints = pool.stats().checkpoints;
    const got: string[] = [];
    let extra = 0;
    for (const n of pool.list({ prefix: 'f/' })) {
      got.push(n);
      // Enough creates between two names to fill the journal now and then.
      for (let i = 0; i < 20; i++) pool.open(`x/${extra++}`, { create: true }).close();
    }
    expect(pool.stats().checkpoints - startCheckpoints).toBeGreaterThan(2);
    expect(got).toEqual(byCodePoint(MANY));
  });

  it('is lazy: names unlinked while it runs are all unlinked; each name there throughout comes once, in order; a name created meanwhile comes at most once', () => {
    using pool = poolWith(MANY);
    let n = 0;
    for (const name of pool.list({ prefix: 'f/' })) {
      pool.unlink(name);
      n++;
    }
    expect(n).toBe(MANY.length);
    expect([...pool.list()]).toEqual([]);

    // Over several batches, with names created before and after the position and some unlinked ahead of it.
    using big = poolWith(MANY);
    const got: string[] = [];
    const gone = new Set<string>();
    for (const name of big.list()) {
      got.push(name);
      if (got.length % 100 === 0) {
        big.open(`${name}+new`, { create: true }).close();
        big.open(`a/${got.length}`, { create: true }).close();
        const ahead = MANY.find((m) => Buffer.compare(Buffer.from(m), Buffer.from(name)) > 0 && !gone.has(m));
        if (ahead !== undefined) {
          big.unlink(ahead);
          gone.add(ahead);
        }
      }
    }
    expect(got).toEqual(byCodePoint(got));
    expect(new Set(got).size).toBe(got.length);
    for (const m of MANY) expect(got.includes(m)).toBe(!gone.has(m));
    expect(got.some((g) => g.startsWith('a/'))).toBe(false);
  });

  it('checks its arguments at the call; a pool closed during the listing throws ERR_PMEMDAX_CLOSED from the next batch', () => {
    using pool = poolWith(MANY);
    const typeErr = { code: 'ERR_INVALID_ARG_TYPE' };
    const rangeErr = { code: 'ERR_OUT_OF_RANGE' };
    const table: [string, unknown, object][] = [
      ['null options', null, typeErr],
      ['a string', 'f/', typeErr],
      ['prefix 5', { prefix: 5 }, typeErr],
      ['prefix null', { prefix: null }, typeErr],
      ['after 5', { after: 5 }, typeErr],
      ['after with a NUL', { after: 'a\0' }, { code: 'EINVAL' }],
      ['after with a lone surrogate', { after: 'a\ud800' }, { code: 'EINVAL' }],
      ['after of 256 bytes', { after: 'n'.repeat(256) }, { code: 'ENAMETOOLONG' }],
      ['limit "5"', { limit: '5' }, typeErr],
      ['limit 5n', { limit: 5n }, typeErr],
      ['limit null', { limit: null }, typeErr],
      ['limit -1', { limit: -1 }, rangeErr],
      ['limit 1.5', { limit: 1.5 }, rangeErr],
      ['limit NaN', { limit: NaN }, rangeErr],
      ['limit 2^53', { limit: 2 ** 53 }, rangeErr],
      ['limit -Infinity', { limit: -Infinity }, rangeErr],
    ];
    for (const [what, opts, err] of table) expect(() => pool.list(opts as never), what).toThrow(expect.objectContaining(err));
    expect([...pool.list({ limit: 2 ** 53 - 1 })]).toHaveLength(MANY.length);

    const it = pool.list();
    for (let i = 0; i < 128; i++) it.next();
    pool.close();
    expect(() => it.next()).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    expect(() => pool.list()).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
  });

  it('a name that begins with U+FEFF is a name like any other: listed, kept apart from the name without it, and kept so across a reopen', () => {
    const dev = new MemoryDevice(64 * MiB);
    const names = ['\uFEFFx', 'x', '\uFEFF', 'a\uFEFF'];
    {
      using pool = Pool.createOn(dev);
      for (const n of names) pool.open(n, { create: true }).close();
      expect([...pool.list()]).toEqual(byCodePoint(names));
      expect([...pool.list({ prefix: '\uFEFF' })]).toEqual(['\uFEFF', '\uFEFFx']);
    }
    using again = Pool.openOn(dev);
    expect([...again.list()]).toEqual(byCodePoint(names));
    for (const n of names) expect(again.exists(n)).toBe(true);
    expect(again.check().ok).toBe(true);
  });

  it('a name that begins with U+FEFF survives a crash too (journal replay)', () => {
    const dev = new StrictMemoryDevice(64 * MiB);
    const pool = Pool.createOn(dev);
    for (const n of ['\uFEFFx', 'x']) pool.open(n, { create: true }).close();
    using after = Pool.openOn(memoryDeviceFromImage(dev.crashImage(Math.random, { newest: 0 })));
    expect(after.info.recovery.replayed).toBeGreaterThan(0);
    expect([...after.list()]).toEqual(['x', '\uFEFFx']);
    pool.close();
  });

  it('a pool closed during a listing throws from its next step, even one that would have ended it', () => {
    for (const opts of [{}, { limit: 1 }, { limit: 0 }, { prefix: 'none' }]) {
      const pool = poolWith(['a']);
      const it = pool.list(opts);
      if (opts.limit !== 0 && opts.prefix === undefined) expect(it.next().value).toBe('a');
      pool.close();
      expect(() => it.next(), JSON.stringify(opts)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
      // And goes on throwing: a caller that retries is not told the listing is complete.
      expect(() => it.next(), JSON.stringify(opts)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    }
  });

  it.each([
    ['all in the names tree', false],
    ['in the tree, with names given and removed since the checkpoint', true],
  ])('names the tree gives in short batches (as a scan that stops at its page limit does) are read on to the end of each batch asked for: %s', (_, changed) => {
    const made = poolWith(MANY);
    const dev = made.device as MemoryDevice;
    made.close();
    using pool = Pool.openOn(dev);
    let want = byCodePoint(MANY);
    if (changed) {
      for (const n of ['f/0150x', 'f/0333y', 'f/0999z']) pool.open(n, { create: true }).close();
      for (const n of ['f/0101', 'f/0200', 'f/0334']) pool.unlink(n);
      want = byCodePoint([...MANY.filter((n) => !['f/0101', 'f/0200', 'f/0334'].includes(n)), 'f/0150x', 'f/0333y', 'f/0999z']);
    }
    const names = BTree.prototype.names;
    const short = vi.spyOn(BTree.prototype, 'names').mockImplementation(function (this: BTree, ...args: Parameters<BTree['names']>) {
      const batch = names.apply(this, args);
      return batch.names.length > 7 ? { names: batch.names.slice(0, 7), ended: false } : batch;
    });
    try {
      expect([...pool.list({ prefix: 'f/', after: 'f/0100', limit: 300 })]).toEqual(want.filter((n) => n > 'f/0100').slice(0, 300));
      expect(short.mock.calls.length).toBeGreaterThan(40);
    } finally {
      short.mockRestore();
    }
  });

  it('a batch that failed (damage, a device error) is asked for again at the next step, never taken for the end of the listing', () => {
    using pool = poolWith(MANY.slice(0, 300));
    const it = pool.list({ limit: 200 });
    for (let i = 0; i < 128; i++) it.next();
    const slice = vi.spyOn(NameTable.prototype, 'slice').mockImplementationOnce(() => {
      throw new PmemdaxError('ERR_PMEMDAX_CORRUPT', 'a page that does not decode');
    });
    expect(() => it.next()).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CORRUPT' }));
    slice.mockRestore();
    const rest = [...it];
    expect(rest).toEqual(byCodePoint(MANY.slice(0, 300)).slice(128, 200));
  });

  it('is an iterator like the built-in ones: for-of, spread, return() ends it early, and the iterator helpers where Node has them', () => {
    using pool = poolWith(['a', 'b', 'c', 'd']);
    const it = pool.list();
    expect(it[Symbol.iterator]()).toBe(it);
    expect(it.next()).toEqual({ value: 'a', done: false });
    expect(it.return?.()).toEqual({ value: undefined, done: true });
    expect(it.next()).toEqual({ value: undefined, done: true });
    const helpers = pool.list() as unknown as { map?: (f: (n: string) => string) => Iterable<string> };
    if (typeof helpers.map === 'function') expect([...helpers.map((n) => n.toUpperCase())]).toEqual(['A', 'B', 'C', 'D']);
    expect(() => pool.list({ prefix: null as unknown as string })).toThrow('The "prefix" option must be of type string. Received null');
  });

  it('keeps its order through renames and a reopen', () => {
    const dev = new MemoryDevice(64 * MiB);
    {
      using pool = Pool.createOn(dev);
      for (const n of MANY.slice(0, 300)) pool.open(n, { create: true }).close();
      pool.rename(MANY[0] as string, 'zz');
      pool.rename(MANY[1] as string, MANY[2] as string);
    }
    using again = Pool.openOn(dev);
    const want = byCodePoint([...MANY.slice(0, 300).filter((n) => n !== MANY[0] && n !== MANY[1]), 'zz']);
    expect([...again.list()]).toEqual(want);
    expect([...again.list({ prefix: 'f/', limit: 3 })]).toEqual(want.slice(0, 3));
  });
});
