import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { native } from '../../lib/native';
import { crc32c } from '../../lib/pool/crc32c';
import { scratchPerTest } from '../support/scratch';

// native/journal_scan.cpp: the run of whole journal records a replay or a refresh applies, checked in one
// call (header, number, length, checksum); the records after it are looked at one at a time in JavaScript.

const MAGIC = 0x4345524a;
const HEADER = 32;
const scan = native.journalScan as NonNullable<typeof native.journalScan>;

/** A journal of records of `epoch` numbered from `seq`, each with `ops` bytes of operations, on cache lines. */
function journal(epoch: number, seq: number, ops: readonly number[], length = 4096): { bytes: Uint8Array; ends: number[] } {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  const ends: number[] = [];
  let at = 0;
  ops.forEach((n, k) => {
    view.setUint32(at, MAGIC, true);
    view.setUint32(at + 8, epoch % 2 ** 32, true);
    view.setUint32(at + 12, Math.floor(epoch / 2 ** 32), true);
    view.setUint32(at + 16, (seq + k) % 2 ** 32, true);
    view.setUint32(at + 20, Math.floor((seq + k) / 2 ** 32), true);
    view.setUint32(at + 24, n, true);
    view.setUint32(at + 28, k + 1, true);
    for (let i = 0; i < n; i++) bytes[at + HEADER + i] = (k * 7 + i) & 0xff;
    const end = at + HEADER + n;
    view.setUint32(at + 4, crc32c(bytes, at + 8, end), true);
    ends.push(end);
    at = Math.ceil(end / 64) * 64;
  });
  return { bytes, ends };
}

const found = (n: number, out: Float64Array): number[][] => Array.from({ length: n }, (_, k) => [out[2 * k] as number, out[2 * k + 1] as number]);

describe('journalScan', () => {
  it('reports every whole record in order: where its operations end and how many', () => {
    const { bytes, ends } = journal(7, 3, [0, 5, 100, 31]);
    const out = new Float64Array(16);
    const n = scan(bytes, 0, bytes.length, 7, 3, out);
    expect(found(n, out)).toEqual(ends.map((end, k) => [end, k + 1]));
  });

  it('an epoch and a number past 2^32 are compared whole', () => {
    const epoch = 2 ** 52 + 5;
    const { bytes } = journal(epoch, 2 ** 40, [10, 10]);
    const out = new Float64Array(8);
    expect(scan(bytes, 0, bytes.length, epoch, 2 ** 40, out)).toBe(2);
    expect(scan(bytes, 0, bytes.length, epoch - 2 ** 32, 2 ** 40, out)).toBe(0);
    expect(scan(bytes, 0, bytes.length, epoch, 2 ** 40 - 2 ** 32, out)).toBe(0);
  });

  it('starts at `at`, the record expected there numbered `seq`', () => {
    const { bytes, ends } = journal(1, 0, [10, 20, 30]);
    const out = new Float64Array(8);
    const second = Math.ceil((ends[0] as number) / 64) * 64;
    expect(found(scan(bytes, second, bytes.length, 1, 1, out), out)).toEqual([[ends[1], 2], [ends[2], 3]]);
    expect(scan(bytes, second, bytes.length, 1, 0, out)).toBe(0);
  });

  const damages: [string, (b: Uint8Array, at: number) => void][] = [
    ['its magic is wrong', (b, at) => (b[at] = (b[at] as number) ^ 1)],
    ['its checksum is wrong', (b, at) => (b[at + 4] = (b[at + 4] as number) ^ 1)],
    ['a byte of its operations changed', (b, at) => (b[at + HEADER + 3] = (b[at + HEADER + 3] as number) ^ 0x80)],
    ['its epoch is another', (b, at) => (b[at + 8] = (b[at + 8] as number) + 1)],
    ['its number is not the next', (b, at) => (b[at + 16] = (b[at + 16] as number) + 1)],
    ['its length runs past the journal', (b, at) => new DataView(b.buffer).setUint32(at + 24, 1 << 30, true)],
  ];
  it.each(damages)('stops before a record when %s', (_what, damage) => {
    const { bytes, ends } = journal(4, 0, [40, 40, 40, 40]);
    const third = Math.ceil((ends[1] as number) / 64) * 64;
    damage(bytes, third);
    const out = new Float64Array(16);
    expect(found(scan(bytes, 0, bytes.length, 4, 0, out), out)).toEqual([[ends[0], 1], [ends[1], 2]]);
  });

  it('stops before a record not wholly within the first `avail` bytes, header or operations', () => {
    const { bytes, ends } = journal(2, 0, [100, 100]);
    const out = new Float64Array(8);
    const second = Math.ceil((ends[0] as number) / 64) * 64;
    expect(scan(bytes, 0, ends[1] as number, 2, 0, out)).toBe(2);
    expect(scan(bytes, 0, (ends[1] as number) - 1, 2, 0, out)).toBe(1);
    expect(scan(bytes, 0, second + HEADER - 1, 2, 0, out)).toBe(1);
    expect(scan(bytes, 0, 0, 2, 0, out)).toBe(0);
    expect(scan(bytes, 200, 100, 2, 0, out)).toBe(0);
  });

  it('stops when `out` is full, and goes on from where it stopped', () => {
    const { bytes, ends } = journal(9, 0, [1, 2, 3, 4, 5]);
    const out = new Float64Array(4);
    expect(found(scan(bytes, 0, bytes.length, 9, 0, out), out)).toEqual([[ends[0], 1], [ends[1], 2]]);
    const next = Math.ceil((ends[1] as number) / 64) * 64;
    expect(found(scan(bytes, next, bytes.length, 9, 2, out), out)).toEqual([[ends[2], 3], [ends[3], 4]]);
    expect(scan(bytes, 0, bytes.length, 9, 0, new Float64Array(1))).toBe(0);
  });

  it('a sub-view counts from its own start', () => {
    const { bytes, ends } = journal(3, 0, [50, 60]);
    const whole = new Uint8Array(bytes.length + 128);
    whole.set(bytes, 128);
    const out = new Float64Array(8);
    expect(found(scan(whole.subarray(128), 0, bytes.length, 3, 0, out), out)).toEqual([[ends[0], 1], [ends[1], 2]]);
  });

  const bad: [string, unknown[], typeof TypeError | typeof RangeError][] = [
    ['a DataView of bytes', [new DataView(new ArrayBuffer(64)), 0, 64, 0, 0, new Float64Array(2)], TypeError],
    ['a Uint32Array out', [new Uint8Array(64), 0, 64, 0, 0, new Uint32Array(2)], TypeError],
    ['a string position', [new Uint8Array(64), '0', 64, 0, 0, new Float64Array(2)], TypeError],
    ['a BigInt epoch', [new Uint8Array(64), 0, 64, 1n, 0, new Float64Array(2)], TypeError],
    ['too few arguments', [new Uint8Array(64), 0, 64, 0, 0], TypeError],
    ['avail past the bytes', [new Uint8Array(64), 0, 65, 0, 0, new Float64Array(2)], RangeError],
    ['a negative position', [new Uint8Array(64), -1, 64, 0, 0, new Float64Array(2)], RangeError],
    ['a fractional position', [new Uint8Array(64), 0.5, 64, 0, 0, new Float64Array(2)], RangeError],
    ['a NaN epoch', [new Uint8Array(64), 0, 64, NaN, 0, new Float64Array(2)], RangeError],
    ['a number past 2^53', [new Uint8Array(64), 0, 64, 0, 2 ** 53, new Float64Array(2)], RangeError],
    ['an infinite avail', [new Uint8Array(64), 0, Infinity, 0, 0, new Float64Array(2)], RangeError],
  ];
  it.each(bad)('%s is a %O', (_what, args, kind) => {
    expect(() => (scan as (...a: unknown[]) => number)(...args)).toThrow(kind);
  });
});

describe('a replay without journalScan (an addon built before it)', () => {
  const s = scratchPerTest('/dev/shm');
  const saved = native.journalScan;
  afterEach(() => {
    (native as { journalScan?: typeof saved }).journalScan = saved;
  });

  it('applies the records one at a time, to the same state', () => {
    const path = s.file('pool');
    const w = Pool.create(path, { size: 16 * 1024 * 1024, journalBytes: 256 * 1024 });
    const r = Pool.open(path, { readonly: true });
    try {
      for (let i = 0; i < 300; i++) {
        const f = w.open(`f${i}`, { create: true, sync: true });
        f.writeSync(Buffer.alloc(100 + i, i & 0xff), 0);
        f.close();
        if (i % 3 === 0) w.unlink(`f${i - 1 < 0 ? 0 : i - 1}`);
      }
      const withScan = Pool.open(path, { readonly: true });
      const want = { names: [...withScan.list()], fs: withScan.statfs() };
      withScan.closeSync();
      (native as { journalScan?: typeof saved }).journalScan = undefined;
      const without = Pool.open(path, { readonly: true });
      expect({ names: [...without.list()], fs: without.statfs() }).toEqual(want);
      without.closeSync();
      r.refresh();
      expect({ names: [...r.list()], fs: r.statfs() }).toEqual(want);
    } finally {
      r.closeSync();
      w.closeSync();
    }
  });
});
