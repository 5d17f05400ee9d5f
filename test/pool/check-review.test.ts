import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { checkPool } from '../../lib/pool/check';
import { Journal } from '../../lib/pool/journal';
import { NO_BLOCK, dataEnd, dataStart } from '../../lib/pool/layout';
import { loadPool, pickSuperblock } from '../../lib/pool/load';
import { unsafeShutdownOf } from '../../lib/pool/unsafe-shutdown';
import { MemoryDevice } from '../../lib/testing';
import { Prng } from '../dax/support/prng';
import { oldCheckPool } from './support/old-check';

const MiB = 1024 * 1024;
const PAGE = 4096;
const PATH = '(device)';

// A hostile review of the check that walks the media (8e2f945): its answers against the load's (the check
// before it, which loaded the pool and audited it), over journals of records crafted one operation each.

type RawOp =
  | { op: 'create'; ino: number; name: string; ctimeMs: number }
  | { op: 'name'; ino: number; name: string | null }
  | { op: 'drop'; ino: number }
  | { op: 'attr'; ino: number; size: number }
  | { op: 'map'; ino: number; page: number; count: number; block: number; state: number }
  | { op: 'alloc' | 'free'; block: number; count: number }
  | { op: 'ref'; block: number; refs: number };

/** A state-shaped object holding exactly `ops` for Journal.append (encodePending's view of a state). */
function fakeState(ops: readonly RawOp[]): unknown {
  const namespaceOps: unknown[] = [];
  const dirtyInodes = new Set<unknown>();
  const allocRuns: number[] = [];
  const freeRuns: number[] = [];
  const refChanged = new Set<number>();
  const refs = new Map<number, number>();
  for (const o of ops) {
    if (o.op === 'create' || o.op === 'name' || o.op === 'drop') namespaceOps.push(o);
    else if (o.op === 'attr') dirtyInodes.add({ ino: o.ino, dirtyLo: Infinity, dirtyHi: 0, attrDirty: true, timeDirty: false, size: o.size, mtimeMs: 1 });
    else if (o.op === 'map') {
      dirtyInodes.add({
        ino: o.ino, dirtyLo: o.page, dirtyHi: o.page + o.count, attrDirty: false, timeDirty: false,
        extents: { forEach: (_lo: number, _hi: number, cb: (p: number, n: number, b: number, s: number) => void) => { if (o.block !== NO_BLOCK) cb(o.page, o.count, o.block, o.state); } },
      });
    } else if (o.op === 'alloc') allocRuns.push(o.block, o.count);
    else if (o.op === 'free') freeRuns.push(o.block, o.count);
    else if (o.op === 'ref') {
      refChanged.add(o.block);
      refs.set(o.block, o.refs);
    }
  }
  return {
    namespaceOps, dirtyInodes, inodes: { has: () => true },
    alloc: { allocRuns, freeRuns, refChanged, refs: (b: number) => refs.get(b) ?? 1 },
  };
}

/** Append each of `records` (a list of ops each) as a valid journal record after the records on `dev`. */
function appendRecords(dev: MemoryDevice, records: readonly (readonly RawOp[])[]): void {
  const { journal } = loadPool(dev, PATH);
  appendWith(journal, records);
}

function appendWith(journal: Journal, records: readonly (readonly RawOp[])[]): void {
  for (const ops of records) expect(journal.append(fakeState(ops) as never)).toBe(true);
}

/** The check before 8e2f945 (a load, its audit, leaks), as the reference. */
function reference(dev: MemoryDevice): ReturnType<typeof checkPool> {
  const { sb } = pickSuperblock(dev, PATH);
  const live = { sb, inodes: new Map(), dirtyInodes: new Set(), inFlight: () => false, namespaceOps: [] };
  return oldCheckPool(dev, PATH, unsafeShutdownOf(dev, sb), live as never);
}

const summary = (r: ReturnType<typeof checkPool>): unknown => ({
  ok: r.ok,
  files: r.files,
  blocksUsed: r.blocksUsed,
  problems: r.problems.map((p) => `${p.what} | ${p.where} | ${p.message.replace(/(inode \d+ \('[^']*'\) page \d+(, )?)+/, (list: string) => (list.match(/inode \d+ \('[^']*'\) page \d+/g) ?? []).sort().join(', '))}`).sort(),
});

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

interface Base {
  image: Uint8Array;
  inos: number[];
  names: string[];
  nextIno: number;
  lo: number;
  hi: number;
  /** Blocks some file maps. */
  mapped: number[];
  shared: number[];
}

async function makeBase(files: number, long = 0): Promise<Base> {
  const dev = new MemoryDevice((long > 0 ? 64 : 8) * MiB);
  const pool = Pool.createOn(dev, { journalBytes: 256 * 1024 });
  for (let i = 0; i < files; i++) pool.open(i < long ? `${String(i).padStart(6, '0')}${'x'.repeat(240)}` : `f${i}`, { create: true }).close();
  // Two files with more extents than an inode holds inline (out of line, in the extents tree).
  const a = pool.open('big-a', { create: true, sync: true });
  const b = pool.open('big-b', { create: true, sync: true });
  for (let i = 0; i < 40; i++) {
    a.appendSync(bytes(PAGE, i));
    b.appendSync(bytes(PAGE, i + 1));
  }
  const c = pool.open('small', { create: true, sync: true });
  c.appendSync(bytes(3 * PAGE, 7));
  await a.clone(c, 0, 0, 2 * PAGE);
  a.close();
  b.close();
  c.close();
  pool.closeSync();
  const { state, found } = loadPool(dev, PATH, { whole: true });
  const mapped: number[] = [];
  for (const inode of state.inodes.values()) inode.extents.forEach(0, Infinity, (_p, n, blk) => { for (let k = 0; k < n; k++) mapped.push(blk + k); });
  return {
    image: dev.bytes.slice(),
    inos: [...state.inodes.keys()],
    names: [...state.inodes.values()].map((i) => i.name as string),
    nextIno: found.nextIno,
    lo: dataStart(found),
    hi: dataEnd(found),
    mapped,
    shared: [...state.alloc.shared.keys()],
  };
}

function randomOp(rng: Prng, base: Base, created: number[]): RawOp {
  const ino = (): number => {
    const r = rng.int(10);
    if (r < 6) return rng.pick(base.inos);
    if (r < 8 && created.length > 0) return rng.pick(created);
    return base.nextIno + rng.int(4);
  };
  const name = (): string => (rng.int(4) === 0 ? `n${rng.int(5)}` : rng.pick(base.names));
  const block = (): number => {
    const r = rng.int(4);
    if (r === 0) return rng.pick(base.mapped);
    if (r === 1 && base.shared.length > 0) return rng.pick(base.shared);
    return base.hi - 1 - rng.int(200);
  };
  switch (rng.int(9)) {
    case 0: {
      const i = base.nextIno + created.length;
      created.push(i);
      return { op: 'create', ino: rng.int(5) === 0 ? ino() : i, name: name(), ctimeMs: 1 };
    }
    case 1:
    case 2:
      return { op: 'name', ino: ino(), name: rng.int(4) === 0 ? null : name() };
    case 3:
      return { op: 'drop', ino: ino() };
    case 4:
      return { op: 'attr', ino: ino(), size: rng.int(20) === 0 ? 2 ** 60 : rng.int(100 * PAGE) };
    case 5:
      return { op: 'map', ino: ino(), page: rng.int(50), count: 1 + rng.int(2), block: rng.int(6) === 0 ? NO_BLOCK : block(), state: rng.int(5) === 0 ? 1 : 0 };
    case 6:
      return { op: rng.int(2) === 0 ? 'alloc' : 'free', block: block(), count: 1 };
    default:
      return { op: 'ref', block: block(), refs: rng.int(4) };
  }
}

describe('hostile review of the media-walking check', () => {
  // REVIEW_SEED, REVIEW_ROUNDS and REVIEW_LONG run more: the review ran seeds 1-7 at 3000 rounds, and 300 rounds at 12000 long names.
  it.each([
    ['a small pool', 30, 0, Number(process.env.REVIEW_ROUNDS ?? 1500)],
    ['a pool whose trees outgrow the page cache', 30, Number(process.env.REVIEW_LONG ?? 12000), Number(process.env.REVIEW_ROUNDS ?? 30)],
  ])('agrees with the load-and-audit check over random crafted journals: %s', async (_what, files, long, rounds) => {
    const base = await makeBase(files + long, long);
    const rng = new Prng(Number(process.env.REVIEW_SEED ?? 0xc0ffee));
    const kinds = new Map<string, number>();
    const dev = new MemoryDevice(base.image.length);
    const failures: string[] = [];
    for (let round = 0; round < rounds && failures.length < 30; round++) {
      dev.bytes.set(base.image);
      const created: number[] = [];
      const records: RawOp[][] = [];
      const n = 1 + rng.int(12);
      for (let k = 0; k < n; k++) records.push([randomOp(rng, base, created)]);
      appendRecords(dev, records);
      const wantR = reference(dev);
      const want = summary(wantR);
      const kind = wantR.ok ? 'ok' : wantR.problems.some((p) => p.what === 'load') ? 'load' : 'problems';
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      let got: unknown;
      try {
        let last = [0, -1];
        const r = checkPool(dev, PATH, null, (done, total) => { last = [done, total]; });
        got = summary(r);
        if (!r.problems.some((p) => p.what === 'load') && last[0] !== last[1]) failures.push(`round ${round}: progress ended at ${last[0]} of ${last[1]}`);
      } catch (e) {
        got = `threw ${String(e)}`;
      }
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        const w = want as { problems: string[] };
        const g = got as { problems?: string[] };
        const only = (a: string[], b: string[] | undefined): string[] => a.filter((x) => !(b ?? []).includes(x));
        failures.push(`round ${round}: ${JSON.stringify(records)}\n want ${JSON.stringify({ ...w, problems: only(w.problems, g.problems) })}\n got  ${typeof got === 'string' ? got : JSON.stringify({ ...g, problems: only(g.problems ?? [], w.problems) })}`);
      }
    }
    if (process.env.REVIEW_SEED !== undefined) console.log(JSON.stringify([...kinds]));
    expect(failures).toEqual([]);
  }, 300_000);
});

describe('review: focused cases', () => {
  it('two inodes of the checkpoint given the same third name, another renamed onto a name', async () => {
    const base = await makeBase(30);
    const dev = new MemoryDevice(base.image.length);
    dev.bytes.set(base.image);
    appendRecords(dev, [[{ op: 'name', ino: 20, name: 'f16' }], [{ op: 'name', ino: 22, name: 'f26' }], [{ op: 'name', ino: 17, name: 'f26' }]]);
    expect(summary(checkPool(dev, PATH, null))).toEqual(summary(reference(dev)));
  });
});

describe('review: journals the brief names, against the load', () => {
  // Inodes of the base: f<i> is inode i + 1 (f0..f29), big-a 31 and big-b 32 (extents out of line), small 33 (shares blocks with big-a).
  it.each<[string, RawOp[][]]>([
    ['a dropped inode of the checkpoint made again under its number and name', [[{ op: 'drop', ino: 5 }], [{ op: 'create', ino: 5, name: 'f4', ctimeMs: 1 }]]],
    ['a dropped inode made again under its number and another file\'s name', [[{ op: 'drop', ino: 5 }], [{ op: 'create', ino: 5, name: 'f7', ctimeMs: 1 }]]],
    ['an out-of-line inode dropped and its number made again', [[{ op: 'drop', ino: 31 }], [{ op: 'create', ino: 31, name: 'again', ctimeMs: 1 }]]],
    ['a name given and taken back', [[{ op: 'name', ino: 5, name: 'f7' }], [{ op: 'name', ino: 5, name: 'f4' }]]],
    ['a name given to an orphan, then the orphan dropped', [[{ op: 'name', ino: 5, name: null }], [{ op: 'name', ino: 5, name: 'f7' }], [{ op: 'drop', ino: 5 }]]],
    ['names moved round three inodes', [[{ op: 'name', ino: 2, name: null }], [{ op: 'name', ino: 3, name: 'f0' }], [{ op: 'name', ino: 4, name: 'f1' }], [{ op: 'name', ino: 2, name: 'f2' }]]],
    ['an out-of-line inode remapped onto a shared block, its count raised', [[{ op: 'map', ino: 32, page: 3, count: 1, block: 69, state: 0 }], [{ op: 'ref', block: 69, refs: 3 }]]],
    ['a shared block given back by a reference record only', [[{ op: 'ref', block: 69, refs: 1 }]]],
    ['a block freed under a file, then allocated again', [[{ op: 'free', block: 69, count: 1 }], [{ op: 'alloc', block: 69, count: 1 }]]],
  ])('%s', async (_what, records) => {
    const base = await baseOnce();
    const dev = new MemoryDevice(base.image.length);
    dev.bytes.set(base.image);
    appendRecords(dev, records);
    expect(summary(checkPool(dev, PATH, null))).toEqual(summary(reference(dev)));
  });
});

let baseMade: Promise<Base> | null = null;
const baseOnce = (): Promise<Base> => (baseMade ??= makeBase(30));

describe('review: progress', () => {
  it('ends at its total when the journal changed or removed files of the checkpoint', () => {
    const dev = new MemoryDevice(16 * MiB);
    const pool = Pool.createOn(dev, { journalBytes: 256 * 1024 });
    for (let i = 0; i < 50; i++) pool.open(`file-${i}`, { create: true }).close();
    pool.closeSync();
    const again = Pool.openOn(dev);
    again.rename('file-1', 'moved');
    again.unlink('file-2');
    again.open('new', { create: true }).close();
    const seen: [number, number][] = [];
    const report = again.check({ progress: (done, total) => seen.push([done, total]) });
    expect(report.ok).toBe(true);
    const last = seen[seen.length - 1] as [number, number];
    expect(last[0]).toBe(last[1]);
    again.closeSync();
  });

  it('a progress callback that throws a RangeError: the error reaches the caller, it is not reported as damage', () => {
    const dev = new MemoryDevice(16 * MiB);
    const pool = Pool.createOn(dev, { journalBytes: 256 * 1024 });
    pool.open('a', { create: true }).close();
    const oops = new RangeError('the caller\'s own bug');
    expect(() => pool.check({ progress: () => { throw oops; } })).toThrow(oops);
    expect(() => checkPool(dev, PATH, null, () => { throw oops; })).toThrow(oops);
    pool.closeSync();
  });
});
