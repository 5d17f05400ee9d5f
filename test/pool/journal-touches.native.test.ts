import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native';
import { Codec } from '../../lib/pool/codec';
import { JournalTouches, nameHash } from '../../lib/pool/journal-touches';
import { RecordList } from '../../lib/pool/record-list';

// native/journal_touches.cpp: what a run of journal records changes (the inodes they name, the names they
// give), for a reader that applies records only when a call needs what they change.

const touches = native.journalTouches as NonNullable<typeof native.journalTouches>;
const HEADER = 32;
const Op = { CREATE: 1, NAME: 2, DROP: 3, ATTR: 4, MAP: 5, ALLOC: 6, FREE: 7, REF: 8 } as const;
type Write = (c: Codec) => void;

const create = (ino: number, name: string): Write => (c) => {
  const bytes = Buffer.from(name);
  c.putU8(Op.CREATE);
  c.putU32(ino);
  c.putU64(0);
  c.putU16(bytes.length);
  c.putRaw(bytes);
};
const rename = (ino: number, name: string): Write => (c) => {
  const bytes = Buffer.from(name);
  c.putU8(Op.NAME);
  c.putU32(ino);
  c.putU16(bytes.length);
  c.putRaw(bytes);
};
const drop = (ino: number): Write => (c) => {
  c.putU8(Op.DROP);
  c.putU32(ino);
};
const attr = (ino: number): Write => (c) => {
  c.putU8(Op.ATTR);
  c.putU32(ino);
  c.putU64(4096);
  c.putU64(0);
};
const map = (ino: number): Write => (c) => {
  c.putU8(Op.MAP);
  c.putU32(ino);
  c.putU32(0);
  c.putU32(1);
  c.putU32(100);
  c.putU8(0);
};
const run = (code: number): Write => (c) => {
  c.putU8(code);
  c.putU32(100);
  c.putU32(1);
};

/**
 * Records of operations (no checksums: the index reads what a scan checked), from journal offset `base` on:
 * their bytes, and the pairs a Journal keeps (end, count).
 */
function records(base: number, ...recs: Write[][]): { bytes: Uint8Array; found: RecordList } {
  const c = new Codec(new Uint8Array(64 * 1024));
  const found = new RecordList();
  let at = 0;
  for (const ops of recs) {
    c.pos = at + HEADER;
    for (const op of ops) op(c);
    found.push(base + c.pos, ops.length);
    at = Math.ceil(c.pos / 64) * 64;
  }
  return { bytes: c.bytes.subarray(0, at), found };
}

/** What `journalTouches` reports for the records from `first` on: [result, inodes, name hashes, flags]. */
function ask(bytes: Uint8Array, base: number, at: number, found: RecordList, first = 0, cells = 64): [number, number[], number[], number] {
  const out = new Uint32Array(cells);
  const r = touches(bytes, base, at, found.cells, first, (found.length - first) / 2, out);
  return [r, Array.from(out.subarray(3, 3 + (out[0] as number))), Array.from(out.subarray(cells - (out[1] as number))).reverse(), out[2] as number];
}

describe('journalTouches', () => {
  it('names the inodes of every operation (a run of one inode once) and hashes the names given, as nameHash does', () => {
    const names = ['a', 'naïve', '名前', '🙂', 'x'.repeat(255)];
    const { bytes, found } = records(
      4096,
      [create(5, names[0] as string), map(5), attr(5), run(Op.ALLOC)],
      [rename(2, names[1] as string), rename(3, ''), drop(9), create(6, names[2] as string)],
      [create(7, names[3] as string), create(8, names[4] as string), run(Op.FREE)],
    );
    const [r, inos, hashes, flags] = ask(bytes, 4096, 4096, found);
    expect(r).toBe(0);
    expect(inos).toEqual([5, 2, 3, 9, 6, 7, 8]);
    expect(hashes).toEqual([names[0], names[1], names[2], names[3], names[4]].map((n) => nameHash(n as string)));
    expect(flags).toBe(0);
  });

  it('starts at the pair `first` and the offset `at`, the bytes holding the journal from `base` on', () => {
    const { bytes, found } = records(8192, [create(1, 'one')], [create(2, 'two'), attr(2)]);
    const second = Math.ceil((found.cells[0] as number) / 64) * 64;
    const [r, inos, hashes] = ask(bytes, 8192, second, found, 2);
    expect(r).toBe(0);
    expect(inos).toEqual([2]);
    expect(hashes).toEqual([nameHash('two')]);
  });

  it('a reference count changed sets the flag', () => {
    const { bytes, found } = records(0, [map(4), run(Op.REF)]);
    expect(ask(bytes, 0, 0, found)[3]).toBe(1);
  });

  it.each([
    ['an unknown operation', [(c: Codec) => c.putU8(9)]],
    ['an operation cut short by its record’s end', [(c: Codec) => {
      c.putU8(Op.MAP);
      c.putU32(1);
    }]],
    ['a name longer than its record', [(c: Codec) => {
      c.putU8(Op.NAME);
      c.putU32(1);
      c.putU16(500);
    }]],
  ] as const)('%s: -1 (the records change everything)', (_, ops) => {
    const { bytes, found } = records(0, [...ops]);
    expect(ask(bytes, 0, 0, found)[0]).toBe(-1);
  });

  it('more operations than the index holds: -1', () => {
    const { bytes, found } = records(0, Array.from({ length: 40 }, (_, i) => create(i + 1, `n${i}`)));
    expect(ask(bytes, 0, 0, found, 0, 64)[0]).toBe(-1);
    expect(ask(bytes, 0, 0, found, 0, 256)[0]).toBe(0);
  });

  it('refuses arguments that do not describe records inside them', () => {
    const { bytes, found } = records(0, [drop(1)]);
    const out = new Uint32Array(8);
    expect(() => touches(bytes, 0, 0, found.cells, 0, found.cells.length, out)).toThrow(RangeError);
    expect(() => touches(bytes, 64, 0, found.cells, 0, 1, out)).toThrow(RangeError);
    expect(() => touches(bytes, 0, 0, found.cells, 0.5, 1, out)).toThrow(RangeError);
    expect(() => touches(bytes, 0, 0, found.cells, 0, 1, new Uint32Array(2))).toThrow(RangeError);
    expect(() => (touches as (...a: unknown[]) => number)(bytes, 0, 0, [1, 1], 0, 1, out)).toThrow(TypeError);
    // An end past the bytes, or before its header: the records cannot be read.
    const cells = new Float64Array([bytes.length + 64, 1]);
    expect(touches(bytes, 0, 0, cells, 0, 1, out)).toBe(-1);
    expect(touches(bytes, 0, 0, new Float64Array([8, 1]), 0, 1, out)).toBe(-1);
  });
});

describe('JournalTouches', () => {
  it('answers for the inodes and names taken in, everything after records it cannot read, nothing after clear', () => {
    const t = new JournalTouches();
    const { bytes, found } = records(0, [create(5, 'five'), map(5)], [rename(6, 'six')]);
    t.add(bytes, 0, 0, found, 0);
    expect([t.inode(5), t.inode(6), t.inode(7)]).toEqual([true, true, false]);
    expect([t.name('five'), t.name('six'), t.name('seven')]).toEqual([true, true, false]);
    const bad = records(0, [(c) => c.putU8(9)]);
    t.add(bad.bytes, 0, 0, bad.found, 0);
    expect([t.inode(7), t.name('seven')]).toEqual([true, true]);
    t.clear();
    expect([t.inode(5), t.name('five')]).toEqual([false, false]);
  });
});
