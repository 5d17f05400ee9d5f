import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkMapping } from '../../lib/dax/check';
import { deleteMappingEntry } from '../../lib/dax/delete';
import { DaxEntry, EntryKind } from '../../lib/dax/entry';
import { FALLBACK, grabMappingEntry } from '../../lib/dax/grab';
import { insertEntry } from '../../lib/dax/insert';
import { invalidateMappingEntrySync } from '../../lib/dax/invalidate';
import { unlockEntry } from '../../lib/dax/lock';
import { tagPagesForWriteback } from '../../lib/dax/tag';
import { daxWritebackMappingRange } from '../../lib/dax/writeback';
import { bareInode, flushingDevice } from './support/mapping-harness';

/** Indices inside two PMD ranges, so PTE and PMD requests collide often. */
const index = fc.oneof(fc.integer({ min: 0, max: 1023 }), fc.constantFrom(0, 1, 511, 512, 513, 1023));

const command = fc.oneof(
  fc.record({
    op: fc.constant('fault' as const),
    index,
    pmd: fc.boolean(),
    result: fc.constantFrom('zero', 'real', 'none'),
    pfn: fc.integer({ min: 0, max: 31 }),
    write: fc.boolean(),
    sync: fc.boolean(),
    shared: fc.boolean().map((b) => b && Math.random() < 0.3),
  }),
  fc.record({ op: fc.constant('delete' as const), index }),
  fc.record({ op: fc.constant('invalidate' as const), index }),
  fc.record({ op: fc.constant('tag' as const), index, span: fc.integer({ min: 1, max: 1024 }) }),
  fc.record({ op: fc.constant('writeback' as const), sync: fc.boolean(), index, span: fc.integer({ min: 1, max: 1024 }) }),
);
type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

interface Observed {
  /** Entries whose TOWRITE came from a shared write (invariant 5). */
  sharedWrites: Set<DaxEntry>;
  failures: string[];
}

function snapshot(inode: ReturnType<typeof bareInode>) {
  return inode.mapping.tree.collect(0, 1 << 20).map((e) => ({ e, kind: e.kind, order: e.order, pfn: e.pfn, dirty: e.dirty, towrite: e.towrite }));
}

async function apply(inode: ReturnType<typeof bareInode>, dev: ReturnType<typeof flushingDevice>, c: Command, seen: Observed): Promise<void> {
  const m = inode.mapping;
  const before = snapshot(inode);
  switch (c.op) {
    case 'fault': {
      const order = c.pmd ? 9 : 0;
      const ptesBefore = before.filter((s) => s.order === 0).map((s) => s.e);
      const covering = m.tree.load(c.index);
      const got = await grabMappingEntry(m, c.index, order);
      if (got === FALLBACK) {
        // Invariant 22 / T3: a PMD request with PTE entries in range changes nothing.
        if (!c.pmd) seen.failures.push('PTE grab fell back');
        if (snapshot(inode).length !== before.length) seen.failures.push('22: a PMD fallback changed the tree');
        return;
      }
      if (c.pmd) {
        for (const p of ptesBefore) if (!p.present) seen.failures.push(`22: a PMD grab removed PTE entry ${p.index}`);
      } else if (covering?.isPmd) {
        const removed = !covering.present;
        if (removed !== (covering.kind !== EntryKind.REAL)) seen.failures.push(`22: PTE grab on ${covering.kind} PMD removed=${removed}`);
      }
      if (c.result !== 'none') {
        const oldKind = got.kind;
        const oldPfn = got.pfn;
        const wasDirty = got.dirty;
        const pfn = got.isPmd ? c.pfn * 512 : c.pfn;
        insertEntry(m, got, { pfn, zero: c.result === 'zero' }, { write: c.write && c.result === 'real', sync: c.sync, shared: c.shared && c.result === 'real' });
        // Invariant 23: without F_SHARED a REAL entry keeps its pfn.
        if (oldKind === EntryKind.REAL && !(c.shared && c.result === 'real') && got.pfn !== oldPfn) seen.failures.push('23: insert clobbered a REAL entry');
        // Invariant 10: only a non-sync write sets DIRTY.
        if (!wasDirty && got.dirty && !(c.write && !c.sync && c.result === 'real')) seen.failures.push('10: DIRTY without a non-sync write');
        if (c.write && c.shared && c.result === 'real') seen.sharedWrites.add(got);
      }
      unlockEntry(m, got);
      return;
    }
    case 'delete': {
      const had = m.tree.load(c.index);
      const removed = await deleteMappingEntry(m, c.index);
      // Invariant 24: delete always removes.
      if (removed !== (had !== undefined) || m.tree.load(c.index) !== undefined) seen.failures.push('24: delete left the entry');
      return;
    }
    case 'invalidate': {
      const had = m.tree.load(c.index);
      const clean = had !== undefined && !had.dirty && !had.towrite;
      const removed = await invalidateMappingEntrySync(m, c.index);
      // Invariant 24: invalidate removes iff the entry is clean.
      if (removed !== clean || (had !== undefined && had.present === removed)) seen.failures.push(`24: invalidate removed=${removed} clean=${clean}`);
      return;
    }
    case 'tag':
      tagPagesForWriteback(m, c.index, c.index + c.span - 1);
      return;
    case 'writeback': {
      const flushes = dev.flushes.length;
      await daxWritebackMappingRange(inode, dev, { sync: c.sync, start: c.index * 4096, end: (c.index + c.span) * 4096 - 1 });
      if (!c.sync) {
        // Invariant 14: background writeback changes no marks and flushes nothing.
        const after = snapshot(inode);
        const same = after.length === before.length && after.every((s, i) => s.dirty === before[i]?.dirty && s.towrite === before[i]?.towrite);
        if (!same || dev.flushes.length !== flushes) seen.failures.push('14: background writeback did something');
      } else {
        for (const e of m.tree.collect(c.index, c.index + c.span - 1)) {
          if (e.towrite) seen.failures.push('sync writeback left TOWRITE');
          seen.sharedWrites.delete(e);
        }
      }
      return;
    }
  }
}

function checkAll(inode: ReturnType<typeof bareInode>, seen: Observed): string[] {
  const problems = checkMapping(inode.mapping, true);
  for (const e of inode.mapping.tree.collect(0, 1 << 20)) {
    if (e.towrite && !e.dirty && !seen.sharedWrites.has(e)) problems.push(`5: TOWRITE without DIRTY or a shared write at ${e.index}`);
  }
  return problems.concat(seen.failures);
}

async function runSequence(cmds: Command[]): Promise<string[]> {
  const inode = bareInode();
  const dev = flushingDevice();
  const seen: Observed = { sharedWrites: new Set(), failures: [] };
  for (const c of cmds) {
    await apply(inode, dev, c, seen);
    const problems = checkAll(inode, seen);
    if (problems.length > 0) return problems.map((p) => `${JSON.stringify(c)}: ${p}`);
  }
  return [];
}

const sequences = fc.array(command, { minLength: 1, maxLength: 60 });
const RUNS = 100;

describe('mapping entries (docs/semantics.md §3, §8)', { timeout: 60_000 }, () => {
  // One random walk checks all the structural invariants after every step; each test names its own.
  for (const [n, name] of [
    [1, 'no overlap: entry ranges are disjoint, a PMD and a PTE never cover one index'],
    [2, 'PMD alignment: PMD entries start 512-aligned, cover 512, REAL pfns are 512-aligned'],
    [3, 'exclusive kinds: EMPTY has pfn 0, ZERO has the zero page or huge zero folio'],
    [4, 'marks only on real entries'],
    [5, 'TOWRITE only from tagging DIRTY entries or a shared write'],
    [10, 'DIRTY only from non-sync write faults'],
    [14, 'background writeback is a no-op'],
    [22, 'never upgrade: PMD grabs keep PTE entries, PTE grabs split only ZERO/EMPTY PMDs'],
    [23, 'insert never clobbers a REAL entry without F_SHARED'],
    [24, 'invalidate removes iff clean, delete always removes'],
    [25, 'nrpages equals the pages covered by entries'],
  ] as const) {
    it(`invariant ${n}: ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(sequences, async (cmds) => {
          const problems = await runSequence(cmds);
          const mine = problems.filter((p) => p.includes(`: ${n}:`) || !/: \d+:/.test(p));
          expect(mine).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('invariant 22: a REAL PMD entry hit by a PTE write fault stays and is dirtied whole', async () => {
    const inode = bareInode();
    const m = inode.mapping;
    const pmd = await grabMappingEntry(m, 700, 9);
    if (pmd === FALLBACK) throw new Error('unexpected fallback');
    insertEntry(m, pmd, { pfn: 1024, zero: false }, { write: false, sync: false, shared: false });
    unlockEntry(m, pmd);
    const pte = await grabMappingEntry(m, 600, 0);
    expect(pte).toBe(pmd);
    if (pte === FALLBACK) return;
    insertEntry(m, pte, { pfn: 77, zero: false }, { write: true, sync: false, shared: false });
    unlockEntry(m, pte);
    expect(m.tree.load(512)).toBe(pmd);
    expect(pmd.isPmd && pmd.dirty && pmd.pfn === 1024).toBe(true);
    expect(m.nrpages).toBe(512);
  });

  it('invariant 22: a PTE grab in a ZERO PMD unmaps the 2 MiB, drops it and creates one EMPTY PTE', async () => {
    const inode = bareInode();
    const m = inode.mapping;
    const pmd = await grabMappingEntry(m, 1024, 9);
    if (pmd === FALLBACK) throw new Error('unexpected fallback');
    insertEntry(m, pmd, { pfn: 0, zero: true }, { write: false, sync: false, shared: false });
    unlockEntry(m, pmd);
    const pte = await grabMappingEntry(m, 1030, 0);
    if (pte === FALLBACK) throw new Error('unexpected fallback');
    expect(pmd.present).toBe(false);
    expect(inode.pt.unmaps).toContainEqual([1024, 512]);
    expect(pte.kind).toBe(EntryKind.EMPTY);
    expect(pte.order).toBe(0);
    expect(m.nrpages).toBe(1);
    unlockEntry(m, pte);
    expect(await grabMappingEntry(m, 1024, 9)).toBe(FALLBACK);
  });

  it('invariant 24: invalidating a dirty entry keeps it, deleting it removes it', async () => {
    const inode = bareInode();
    const m = inode.mapping;
    const e = await grabMappingEntry(m, 3, 0);
    if (e === FALLBACK) throw new Error('unexpected fallback');
    insertEntry(m, e, { pfn: 9, zero: false }, { write: true, sync: false, shared: false });
    unlockEntry(m, e);
    expect(await invalidateMappingEntrySync(m, 3)).toBe(false);
    expect(m.tree.load(3)).toBe(e);
    expect(await deleteMappingEntry(m, 3)).toBe(true);
    expect(m.empty).toBe(true);
    expect(m.nrpages).toBe(0);
  });

  it('writeback flushes whole entries and cleans them: 2 MiB for a PMD even when the range starts inside it', async () => {
    const inode = bareInode();
    const dev = flushingDevice();
    const m = inode.mapping;
    const pmd = await grabMappingEntry(m, 512, 9);
    if (pmd === FALLBACK) throw new Error('unexpected fallback');
    insertEntry(m, pmd, { pfn: 2048, zero: false }, { write: true, sync: false, shared: false });
    unlockEntry(m, pmd);
    await daxWritebackMappingRange(inode, dev, { sync: true, start: 700 * 4096, end: 701 * 4096 });
    expect(dev.flushes).toEqual([{ offset: 2048 * 4096, length: 2 * 1024 * 1024 }]);
    expect(inode.pt.cleans).toEqual([[512, 512, 2048]]);
    expect(pmd.dirty || pmd.towrite).toBe(false);
  });
});
