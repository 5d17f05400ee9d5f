import { describe, expect, it } from 'vitest';
import type { Pool, PoolFile } from '../../../lib';
import { DETACHED_KINDS, INVALID_KINDS, VIEW_KINDS, expectGuards, expectInvalidArg, expectSameBytes, pattern } from '../../support/buffer-kinds';

const FILE_BYTES = 3 * 4096;
const N = 64;
const POS = 4096 + 100;

/** Three files side by side on the media: the middle one is the target, the others must never change. */
async function layout(pool: Pool): Promise<PoolFile> {
  for (const [i, name] of ['before', 'target', 'after'].entries()) {
    const f = pool.open(name, { create: true });
    f.writeSync(pattern(FILE_BYTES, i + 1), 0);
    await f.fsync();
    if (name !== 'target') f.close();
  }
  return pool.open('target');
}

function contents(pool: Pool): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of [...pool.list()]) {
    const f = pool.open(name, { readonly: true });
    const b = new Uint8Array(f.size);
    f.readSync(b, 0);
    f.close();
    out.set(name, b);
  }
  return out;
}

function expectSameFiles(actual: Map<string, Uint8Array>, expected: Map<string, Uint8Array>): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, bytes] of expected) expectSameBytes(actual.get(name), bytes);
}

interface WriteMethod {
  readonly name: string;
  /** Writes the view; resolves to the file offset it landed at. */
  call(f: PoolFile, view: unknown): Promise<number>;
}

const WRITES: readonly WriteMethod[] = [
  { name: 'writeSync', call: async (f, v) => (f.writeSync(v as ArrayBufferView, POS), POS) },
  { name: 'write', call: async (f, v) => (await f.write(v as ArrayBufferView, POS), POS) },
  { name: 'appendSync', call: async (f, v) => f.appendSync(v as ArrayBufferView) },
  { name: 'append', call: async (f, v) => f.append(v as ArrayBufferView) },
];

const READS: readonly { name: string; call(f: PoolFile, view: unknown): Promise<number> }[] = [
  { name: 'readSync', call: async (f, v) => f.readSync(v as ArrayBufferView, POS) },
  { name: 'read', call: (f, v) => f.read(v as ArrayBufferView, POS) },
];

/** The buffer-kind matrix over every PoolFile method that takes bytes, on pools `makePool` gives. */
export function poolBufferSuite(makePool: () => Pool): void {
  describe.each(WRITES)('PoolFile.$name', (m) => {
    it.each(VIEW_KINDS)('writes exactly the byteLength of a $name, at the right place', async (kind) => {
      using pool = makePool();
      const f = await layout(pool);
      const before = contents(pool);
      const content = pattern(N, 99);
      const { view, backing, at } = kind.make(content);
      const pos = await m.call(f, view);
      const after = contents(pool);
      const expected = new Uint8Array(Math.max(FILE_BYTES, pos + N));
      expected.set(before.get('target') as Uint8Array);
      expected.set(content, pos);
      expectSameBytes(after.get('target'), expected);
      expectSameBytes(after.get('before'), before.get('before'));
      expectSameBytes(after.get('after'), before.get('after'));
      expectGuards(backing, at, N);
      expect(pool.check().problems).toEqual([]);
    });

    it.each(DETACHED_KINDS)('a $name is zero bytes: nothing changes', async (kind) => {
      using pool = makePool();
      const f = await layout(pool);
      const before = contents(pool);
      await m.call(f, kind.make());
      expectSameFiles(contents(pool), before);
    });

    it.each(INVALID_KINDS)('refuses %s with ERR_INVALID_ARG_TYPE, changing nothing', async (_name, make) => {
      using pool = makePool();
      const f = await layout(pool);
      const before = contents(pool);
      await expectInvalidArg(() => m.call(f, make()));
      expectSameFiles(contents(pool), before);
      // The file still takes the next append at its end: a refused append reserved nothing.
      expect(await f.append(new Uint8Array([1]))).toBe(FILE_BYTES);
    });
  });

  describe.each(READS)('PoolFile.$name', (m) => {
    it.each(VIEW_KINDS)('fills exactly the byteLength of a $name, and nothing around it', async (kind) => {
      using pool = makePool();
      const f = await layout(pool);
      const { view, backing, at } = kind.make(new Uint8Array(N));
      expect(await m.call(f, view)).toBe(N);
      const file = contents(pool).get('target') as Uint8Array;
      expectSameBytes(backing.subarray(at, at + N), file.subarray(POS, POS + N));
      expectGuards(backing, at, N);
    });

    it('a Float64Array(4096) reads only what the file holds (32 KiB asked, 8 KiB - 100 there)', async () => {
      using pool = makePool();
      const f = await layout(pool);
      const big = new Float64Array(4096);
      const n = await m.call(f, big);
      expect(n).toBe(FILE_BYTES - POS);
      const got = new Uint8Array(big.buffer);
      const file = contents(pool).get('target') as Uint8Array;
      expectSameBytes(got.subarray(0, n), file.subarray(POS));
      // Past EOF the buffer is left as it was: no bytes of the next file on the media.
      expect(got.subarray(n).every((b) => b === 0)).toBe(true);
    });

    it.each(DETACHED_KINDS)('a $name reads 0 bytes', async (kind) => {
      using pool = makePool();
      const f = await layout(pool);
      expect(await m.call(f, kind.make())).toBe(0);
    });

    it.each(INVALID_KINDS)('refuses %s with ERR_INVALID_ARG_TYPE', async (_name, make) => {
      using pool = makePool();
      const f = await layout(pool);
      await expectInvalidArg(() => m.call(f, make()));
    });
  });

  it('a Float64Array write of 4096 elements writes 32 KiB into its own file only', async () => {
    using pool = makePool();
    const f = await layout(pool);
    const before = contents(pool);
    const data = pattern(32 * 1024, 5);
    f.writeSync(new Float64Array(data.buffer), 0);
    const after = contents(pool);
    expectSameBytes(after.get('target'), data);
    expectSameBytes(after.get('before'), before.get('before'));
    expectSameBytes(after.get('after'), before.get('after'));
    expect(pool.check().problems).toEqual([]);
  });
}
