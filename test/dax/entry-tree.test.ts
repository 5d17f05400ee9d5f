import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DaxEntry, EntryKind } from '../../lib/dax/entry';
import { EntryTree } from '../../lib/dax/tree';
import { cpuMs } from '../support/cpu-time';

/** Naive reference: the entries in a plain array. */
function naiveFirst(entries: DaxEntry[], first: number, last: number): DaxEntry | undefined {
  let best: DaxEntry | undefined;
  for (const e of entries) {
    if (e.index <= last && e.index + e.pages - 1 >= first && (best === undefined || e.index < best.index)) best = e;
  }
  return best;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), index: fc.oneof(fc.nat(5000), fc.nat(2 ** 44)), pmd: fc.boolean() }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('find' as const), first: fc.oneof(fc.nat(6000), fc.nat(2 ** 44)), span: fc.nat(5000) }),
);

describe('EntryTree', { timeout: 60_000 }, () => {
  it('agrees with a naive list on load and findFirst under random inserts and removes, at any index size', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const tree = new EntryTree();
        const entries: DaxEntry[] = [];
        for (const o of ops) {
          if (o.kind === 'insert') {
            const base = o.pmd ? o.index - (o.index % 512) : o.index;
            const e = new DaxEntry(base, o.pmd ? 9 : 0, EntryKind.EMPTY, 0);
            if (naiveFirst(entries, base, base + e.pages - 1) !== undefined) {
              expect(() => tree.insert(e)).toThrow();
              continue;
            }
            tree.insert(e);
            entries.push(e);
          } else if (o.kind === 'remove') {
            if (entries.length === 0) continue;
            const [e] = entries.splice(o.pick % entries.length, 1);
            if (e) tree.remove(e);
          } else {
            expect(tree.findFirst(o.first, o.first + o.span)).toBe(naiveFirst(entries, o.first, o.first + o.span));
            expect(tree.load(o.first)).toBe(naiveFirst(entries, o.first, o.first));
          }
          expect(tree.size).toBe(entries.length);
        }
        const sorted = [...entries].sort((a, b) => a.index - b.index);
        expect(tree.collect(0, Number.MAX_SAFE_INTEGER)).toEqual(sorted);
      }),
      { numRuns: 300 },
    );
  });

  it('holds a million entries with fast lookups and range scans', () => {
    const tree = new EntryTree();
    const N = 1_000_000;
    const t0 = cpuMs();
    // A million dense PTE entries, then 2000 PMD entries far beyond them.
    for (let i = 0; i < N; i++) {
      tree.insert(new DaxEntry(i, 0, EntryKind.REAL, i));
    }
    for (let p = 0; p < 2000; p++) tree.insert(new DaxEntry(2 ** 30 + p * 1024, 9, EntryKind.REAL, p * 512));
    const insertMs = cpuMs() - t0;
    const t1 = cpuMs();
    let hits = 0;
    for (let i = 0; i < N; i += 7) if (tree.load(i)?.index === i) hits++;
    const lookupMs = cpuMs() - t1;
    const t2 = cpuMs();
    let scanned = 0;
    let cursor = 0;
    for (;;) {
      const e = tree.findFirst(cursor, Number.MAX_SAFE_INTEGER);
      if (e === undefined) break;
      scanned++;
      cursor = e.index + e.pages;
    }
    const scanMs = cpuMs() - t2;
    expect(hits).toBe(Math.ceil(N / 7));
    expect(scanned).toBe(N + 2000);
    expect(tree.size).toBe(N + 2000);
    expect(tree.load(2 ** 30 + 1024 + 300)?.index).toBe(2 ** 30 + 1024);
    expect(tree.findFirst(N, 2 ** 30 - 1)).toBeUndefined();
    // CPU-time bounds (a busy machine stretches wall time only); typical numbers are a few times smaller.
    expect(insertMs).toBeLessThan(5000);
    expect(lookupMs).toBeLessThan(1000);
    expect(scanMs).toBeLessThan(5000);
    for (let i = 0; i < N; i++) {
      const e = tree.load(i);
      if (e) tree.remove(e);
    }
    expect(tree.size).toBe(2000);
  }, 30_000);
});
