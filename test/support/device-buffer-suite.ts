import { describe, expect, it } from 'vitest';
import { DETACHED_KINDS, INVALID_KINDS, VIEW_KINDS, expectGuards, expectInvalidArg, expectSameBytes, pattern } from './buffer-kinds';

/** The byte-taking surface shared by Device and the memory devices. */
export interface BytesDevice {
  readonly size: number;
  copy(offset: number, src: ArrayBufferView, flags?: number): void;
  copySafe(offset: number, target: ArrayBufferView): void;
  clearBadblocks(offset: number, length: number, data?: ArrayBufferView): void;
  close(): void;
}

const AT = 8192 + 40;
const PAGE = 4096;

/** The buffer-kind matrix over copy, copySafe and clearBadblocks of the devices `make` opens. */
export function deviceBufferSuite(make: () => BytesDevice, snapshot: (d: BytesDevice) => Uint8Array): void {
  function seeded(): BytesDevice {
    const d = make();
    d.copy(0, pattern(d.size, 3));
    return d;
  }

  describe('copy', () => {
    it.each(VIEW_KINDS)('stores exactly the byteLength of a $name', (kind) => {
      const d = seeded();
      const expected = snapshot(d);
      const content = pattern(64, 42);
      const { view, backing, at } = kind.make(content);
      d.copy(AT, view);
      expected.set(content, AT);
      expectSameBytes(snapshot(d), expected);
      expectGuards(backing, at, 64);
      d.close();
    });
  });

  describe('copySafe', () => {
    it.each(VIEW_KINDS)('fills exactly the byteLength of a $name', (kind) => {
      const d = seeded();
      const { view, backing, at } = kind.make(new Uint8Array(64));
      d.copySafe(AT, view);
      expectSameBytes(backing.subarray(at, at + 64), snapshot(d).subarray(AT, AT + 64));
      expectGuards(backing, at, 64);
      d.close();
    });
  });

  describe('clearBadblocks', () => {
    it.each(VIEW_KINDS)('writes the page from a $name', (kind) => {
      const d = seeded();
      const expected = snapshot(d);
      const content = pattern(PAGE, 77);
      const { view, backing, at } = kind.make(content);
      d.clearBadblocks(2 * PAGE, PAGE, view);
      expected.set(content, 2 * PAGE);
      expectSameBytes(snapshot(d), expected);
      expectGuards(backing, at, PAGE);
      d.close();
    });

    it('refuses data that is not exactly the range, before writing', () => {
      const d = seeded();
      const before = snapshot(d);
      expect(() => d.clearBadblocks(0, PAGE, new Float64Array(PAGE))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      expectSameBytes(snapshot(d), before);
      d.close();
    });
  });

  const methods: [string, (d: BytesDevice, v: unknown) => void][] = [
    ['copy', (d, v) => d.copy(AT, v as ArrayBufferView)],
    ['copySafe', (d, v) => d.copySafe(AT, v as ArrayBufferView)],
    ['clearBadblocks', (d, v) => d.clearBadblocks(0, PAGE, v as ArrayBufferView)],
  ];

  describe.each(methods)('%s', (_name, call) => {
    it.each(INVALID_KINDS)('refuses %s with ERR_INVALID_ARG_TYPE, changing nothing', async (_kind, makeValue) => {
      const d = seeded();
      const before = snapshot(d);
      const value = makeValue();
      // clearBadblocks takes undefined as "zeros": that is not a misuse.
      if (_name === 'clearBadblocks' && value === undefined) return d.close();
      await expectInvalidArg(() => call(d, value));
      expectSameBytes(snapshot(d), before);
      d.close();
    });

    it.each(DETACHED_KINDS.filter(() => _name !== 'clearBadblocks'))('a $name is zero bytes: nothing changes', (kind) => {
      const d = seeded();
      const before = snapshot(d);
      call(d, kind.make());
      expectSameBytes(snapshot(d), before);
      d.close();
    });
  });
}
