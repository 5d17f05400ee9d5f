import { describe, expect, it } from 'vitest';
import { BTree, NO_PAGE, type PageStore } from '../../lib/pool/meta/btree';
import { BRANCH, LEAF, PAGE, childOf, countOf, keyOf, kindOf } from '../../lib/pool/meta/page';
import { rng } from '../support/rng';

/**
 * Pages in memory, as the pool will keep them: committed pages are never written (a test checks that by
 * freezing their bytes), changes go to overlay copies at new blocks, and `checkpoint()` makes the overlay
 * the committed state and frees what the tree no longer reaches.
 */
class MemoryStore implements PageStore {
  readonly committed = new Map<number, Buffer>();
  readonly overlay = new Map<number, Buffer>();
  released = new Set<number>();
  #next = 1;

  page(no: number): Buffer {
    const p = this.overlay.get(no) ?? this.committed.get(no);
    if (p === undefined) throw new Error(`no page ${no}`);
    return p;
  }

  writable(no: number): number {
    if (this.overlay.has(no)) return no;
    const copy = this.allocate();
    this.page(no).copy(this.page(copy));
    this.release(no);
    return copy;
  }

  allocate(): number {
    const no = this.#next++;
    this.overlay.set(no, Buffer.alloc(PAGE));
    return no;
  }

  release(no: number): void {
    if (this.overlay.delete(no)) return;
    this.released.add(no);
  }

  checkpoint(): void {
    for (const no of this.released) this.committed.delete(no);
    this.released = new Set();
    for (const [no, p] of this.overlay) this.committed.set(no, Buffer.from(p));
    this.overlay.clear();
  }
}


const key = (s: string): Buffer => Buffer.from(s, 'utf8');

function fail(message: string): never {
  throw new Error(`tree: ${message}`);
}

/**
 * Every structural rule: keys sorted within and across pages, each child's keys inside its separators,
 * one depth for every leaf, no page reached twice, and the pages reached exactly the ones the store holds.
 */
function checkTree(tree: BTree, store: MemoryStore): string[] {
  const keys: string[] = [];
  const seen = new Set<number>();
  let depth = -1;
  const walk = (no: number, level: number, lo: Buffer | null, hi: Buffer | null): void => {
    if (seen.has(no)) fail(`page ${no} reached twice`);
    seen.add(no);
    const p = store.page(no);
    const n = countOf(p);
    if (n === 0) fail(`page ${no} is empty`);
    const leaf = kindOf(p) === LEAF;
    if (!leaf && kindOf(p) !== BRANCH) fail(`page ${no} has kind ${kindOf(p)}`);
    for (let i = 1; i < n; i++) if (Buffer.compare(keyOf(p, i - 1), keyOf(p, i)) >= 0 && (leaf || i > 1)) fail(`page ${no} out of order at ${i}`);
    if (leaf) {
      if (depth < 0) depth = level;
      if (level !== depth) fail(`leaf ${no} at depth ${level}, not ${depth}`);
      for (let i = 0; i < n; i++) {
        const k = keyOf(p, i);
        if ((lo !== null && Buffer.compare(lo, k) > 0) || (hi !== null && Buffer.compare(k, hi) >= 0)) fail(`key ${k.toString()} outside its separators`);
        keys.push(k.toString('utf8'));
      }
      return;
    }
    for (let i = 0; i < n; i++) walk(childOf(p, i), level + 1, i === 0 ? lo : Buffer.from(keyOf(p, i)), i + 1 < n ? Buffer.from(keyOf(p, i + 1)) : hi);
  };
  if (tree.root !== NO_PAGE) walk(tree.root, 0, null, null);
  const live = [...store.overlay.keys(), ...[...store.committed.keys()].filter((no) => !store.released.has(no))];
  if (live.length !== seen.size || live.some((no) => !seen.has(no))) fail(`${live.length} pages held, ${seen.size} reached`);
  return keys;
}

/** Levels from the root to a leaf (0 for an empty tree). */
function depthOf(tree: BTree, store: MemoryStore): number {
  let depth = 0;
  for (let no = tree.root; no !== NO_PAGE; depth++) {
    const p = store.page(no);
    no = kindOf(p) === LEAF ? NO_PAGE : childOf(p, 0);
  }
  return depth;
}

describe('BTree (format 2 metadata pages, lib/pool/meta)', () => {
  it('stores, replaces, finds and deletes against a model, in random order, with every structural rule after each batch', () => {
    for (const seed of [1, 2, 3, 4]) {
      const next = rng(seed);
      const store = new MemoryStore();
      const tree = new BTree(store);
      const model = new Map<string, string>();
      let maxDepth = 0;
      for (let round = 0; round < 40; round++) {
        for (let op = 0; op < 200; op++) {
          // Short keys from a small alphabet (shared prefixes, collisions), values up to 300 bytes; with seeds 3
          // and 4, keys of 100-250 bytes and values up to 1000: a few cells a page, so trees three and four deep.
          const big = seed > 2;
          const length = big ? 100 + Math.floor(next() * 150) : 1 + Math.floor(next() * (next() < 0.1 ? 60 : 6));
          const k = big ? `${Math.floor(next() * 3000)}`.padEnd(length, '.') : Array.from({ length }, () => 'abcdé'[Math.floor(next() * 5)]).join('');
          if (next() < (round < 20 ? 0.7 : 0.3)) {
            const v = `${k}:${'x'.repeat(Math.floor(next() * (big ? 1000 - k.length : 300)))}`;
            tree.put(key(k), key(v));
            model.set(k, v);
          } else {
            expect(tree.delete(key(k))).toBe(model.delete(k));
          }
        }
        const sorted = [...model.keys()].sort((a, b) => Buffer.compare(key(a), key(b)));
        maxDepth = Math.max(maxDepth, depthOf(tree, store));
        expect(checkTree(tree, store)).toEqual(sorted);
        const wrong = [...model].filter(([k, v]) => tree.get(key(k))?.toString('utf8') !== v);
        expect(wrong).toEqual([]);
        expect(tree.get(key('zzz-absent'))).toBeNull();
        if (round % 5 === 4) store.checkpoint();
      }
      expect(maxDepth).toBeGreaterThanOrEqual(seed > 2 ? 3 : 2);
      for (const k of [...model.keys()]) expect(tree.delete(key(k))).toBe(true);
      expect(tree.root).toBe(NO_PAGE);
      expect(checkTree(tree, store)).toEqual([]);
    }
  }, 60_000);

  it('scans in byte order from, after and within a prefix, and stops where asked', () => {
    const store = new MemoryStore();
    const tree = new BTree(store);
    const names = Array.from({ length: 5000 }, (_, i) => `file-${String(i).padStart(5, '0')}`);
    for (const n of [...names].reverse()) tree.put(key(n), key(n.toUpperCase()));
    const scan = (range: Parameters<BTree['entries']>[0], limit = Infinity): string[] => {
      const out: string[] = [];
      for (const [k, v] of tree.entries(range)) {
        expect(v.toString()).toBe(k.toString().toUpperCase());
        out.push(k.toString());
        if (out.length >= limit) break;
      }
      return out;
    };
    expect(scan({})).toEqual(names);
    expect(scan({ prefix: key('file-012') })).toEqual(names.filter((n) => n.startsWith('file-012')));
    expect(scan({ after: key('file-01999') }, 3)).toEqual(['file-02000', 'file-02001', 'file-02002']);
    expect(scan({ after: key('file-01999x') }, 1)).toEqual(['file-02000']);
    expect(scan({ from: key('file-04998') }, 5)).toEqual(['file-04998', 'file-04999']);
    expect(scan({ after: key('file-04999') })).toEqual([]);
    expect(scan({ after: key('file-0'), prefix: key('file-00') }, 2)).toEqual(['file-00000', 'file-00001']);
    expect(scan({ prefix: key('nothing') })).toEqual([]);
    expect(scan({ after: key('a'), prefix: key('file-0123') })).toEqual(names.filter((n) => n.startsWith('file-0123')));
    expect(scan({ from: key('file-01235'), prefix: key('file-0123') })).toEqual(['file-01235', 'file-01236', 'file-01237', 'file-01238', 'file-01239']);
    expect(scan({ after: key('file-04999'), prefix: key('file-0499') })).toEqual([]);
  });

  it('never writes a committed page: a snapshot of the roots reads what it read, whatever changes after', () => {
    const store = new MemoryStore();
    const tree = new BTree(store);
    for (let i = 0; i < 3000; i++) tree.put(key(`k${i}`), key(`v${i}`));
    store.checkpoint();
    const frozen = new Map([...store.committed].map(([no, p]) => [no, Buffer.from(p)]));
    const snapshot = new BTree(store, tree.root);
    const next = rng(9);
    for (let i = 0; i < 3000; i++) {
      const k = key(`k${Math.floor(next() * 4000)}`);
      if (next() < 0.5) tree.delete(k);
      else tree.put(k, key('changed'));
    }
    for (const [no, p] of frozen) expect(store.committed.get(no)?.equals(p)).toBe(true);
    for (let i = 0; i < 3000; i++) expect(snapshot.get(key(`k${i}`))?.toString()).toBe(`v${i}`);
  });

  it('fromSorted builds the same tree in one pass, from nothing to four levels, and it takes changes after', () => {
    for (const [n, size] of [[0, 1], [1, 1], [100, 10], [20_000, 12], [3000, 250]] as const) {
      const store = new MemoryStore();
      const names = Array.from({ length: n }, (_, i) => `k${String(i).padStart(6, '0')}`.padEnd(size, '.'));
      const value = (k: string): string => `v:${k}`.padEnd(size > 100 ? 900 : 0, '-');
      const tree = BTree.fromSorted(store, names.map((k) => [key(k), key(value(k))] as const));
      expect(checkTree(tree, store)).toEqual(names);
      for (const k of names) expect(tree.get(key(k))?.toString()).toBe(value(k));
      if (n === 3000) expect(depthOf(tree, store)).toBeGreaterThanOrEqual(3);
      const model = new Map(names.map((k) => [k, value(k)]));
      const next = rng(n + 1);
      for (let i = 0; i < 2000; i++) {
        const k = `k${String(Math.floor(next() * (n + 50))).padStart(6, '0')}`.padEnd(size, '.');
        if (next() < 0.5) expect(tree.delete(key(k))).toBe(model.delete(k));
        else {
          tree.put(key(k), key('new'));
          model.set(k, 'new');
        }
      }
      expect(checkTree(tree, store)).toEqual([...model.keys()].sort());
    }
    expect(() => BTree.fromSorted(new MemoryStore(), [[key('b'), key('')], [key('a'), key('')]])).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    for (const fill of [1.5, NaN, 0.05, 0, -1]) expect(() => BTree.fromSorted(new MemoryStore(), [], fill), String(fill)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    const full = new MemoryStore();
    const keys = Array.from({ length: 3000 }, (_, i) => `k${String(i).padStart(5, '0')}`);
    expect(checkTree(BTree.fromSorted(full, keys.map((k) => [key(k), key(k)] as const), 1), full)).toEqual(keys);
    expect(() => BTree.fromSorted(new MemoryStore(), [[key('a'), key('')], [key('a'), key('')]])).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('holds the largest keys and values, and refuses larger ones', () => {
    const store = new MemoryStore();
    const tree = new BTree(store);
    for (let i = 0; i < 200; i++) tree.put(Buffer.alloc(255, i), Buffer.alloc(1024, i));
    for (let i = 0; i < 200; i++) expect(tree.get(Buffer.alloc(255, i))?.equals(Buffer.alloc(1024, i))).toBe(true);
    checkTree(tree, store);
    expect(() => tree.put(Buffer.alloc(256), Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => tree.put(Buffer.alloc(1), Buffer.alloc(1025))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
});
