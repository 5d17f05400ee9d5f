import { expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../lib/iomap/constants';

/**
 * One file of a backend under test (MemFs or the pool), seen through what growing it needs. The
 * async calls are the backend's own; the optional ones exist on the pool only.
 */
export interface GrowFile {
  size(): number;
  write(pos: number, bytes: Uint8Array): Promise<void>;
  writeSync?(pos: number, bytes: Uint8Array): void;
  append?(bytes: Uint8Array): Promise<void>;
  appendSync?(bytes: Uint8Array): void;
  /** fallocate mode 0, or with KEEP_SIZE. */
  allocate(pos: number, len: number, keepSize: boolean): Promise<void>;
  /** fallocate(ZERO_RANGE) without KEEP_SIZE, where the backend has it. */
  zeroRangeGrow?(pos: number, len: number): Promise<void>;
  truncate(size: number): Promise<void>;
  /** Clone `data.length` bytes (page-aligned) of another file into this one at `at`. */
  cloneIn(at: number, data: Uint8Array): Promise<void>;
  read(pos: number, len: number): Uint8Array;
  /** Store `value` from EOF to the end of its page, as a store through a shared mapping does. */
  scribblePastEof(value: number): Promise<void>;
}

export interface GrowBackend {
  readonly name: string;
  /** A fresh file, and how to dispose of everything behind it. */
  make(): Promise<{ file: GrowFile; dispose(): void }>;
}

/** The file starts at an unaligned size, so its last page has bytes past EOF. */
const START = PAGE_SIZE + 904;
const EOF_PAGE_END = 2 * PAGE_SIZE;
const GARBAGE = 0xab;

function pattern(length: number, seed: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = ((i * 31 + seed * 7) % 251) + 1;
  return b;
}

/** A growth path: what it does, and the data it brings (everything else past the old EOF reads as zeros). */
interface Growth {
  readonly name: string;
  readonly needs?: keyof GrowFile;
  grow(f: GrowFile): Promise<{ pos: number; bytes: Uint8Array }[]>;
}

const data = pattern(300, 1);

export const GROWTHS: readonly Growth[] = [
  { name: 'write past EOF inside its page', grow: async (f) => (await f.write(START + 500, data), [{ pos: START + 500, bytes: data }]) },
  { name: 'write past the EOF page', grow: async (f) => (await f.write(EOF_PAGE_END + 100, data), [{ pos: EOF_PAGE_END + 100, bytes: data }]) },
  { name: 'write starting exactly at EOF', grow: async (f) => (await f.write(START, data), [{ pos: START, bytes: data }]) },
  {
    name: 'write starting at EOF, then truncate-up past it',
    grow: async (f) => {
      await f.write(START, data);
      await f.truncate(EOF_PAGE_END + 10);
      return [{ pos: START, bytes: data }];
    },
  },
  {
    name: 'writeSync past EOF',
    needs: 'writeSync',
    grow: async (f) => (f.writeSync?.(START + 700, data), [{ pos: START + 700, bytes: data }]),
  },
  { name: 'append (at EOF)', needs: 'append', grow: async (f) => (await f.append?.(data), [{ pos: START, bytes: data }]) },
  { name: 'appendSync (at EOF)', needs: 'appendSync', grow: async (f) => (f.appendSync?.(data), [{ pos: START, bytes: data }]) },
  { name: 'fallocate allocate past EOF (size grows)', grow: async (f) => (await f.allocate(START + 2000, 100, false), []) },
  { name: 'fallocate allocate over the EOF page (size grows)', grow: async (f) => (await f.allocate(0, 3 * PAGE_SIZE, false), []) },
  {
    name: 'fallocate keep-size, then write past EOF',
    grow: async (f) => {
      await f.allocate(START, 3 * PAGE_SIZE, true);
      await f.write(EOF_PAGE_END + 200, data);
      return [{ pos: EOF_PAGE_END + 200, bytes: data }];
    },
  },
  { name: 'fallocate zero-range past EOF (size grows)', needs: 'zeroRangeGrow', grow: async (f) => (await f.zeroRangeGrow?.(3 * PAGE_SIZE, 100), []) },
  { name: 'truncate-up inside the EOF page', grow: async (f) => (await f.truncate(START + 1000), []) },
  { name: 'truncate-up past the EOF page', grow: async (f) => (await f.truncate(4 * PAGE_SIZE + 5), []) },
  {
    name: 'clone into a longer range',
    grow: async (f) => {
      const page = pattern(PAGE_SIZE, 2);
      await f.cloneIn(EOF_PAGE_END, page);
      return [{ pos: EOF_PAGE_END, bytes: page }];
    },
  },
];

/**
 * The growth table on one backend: the EOF page holds garbage past EOF (stored as through a
 * mapping), the file grows, and every byte from the old EOF to the new one is the new data or zero.
 */
export function eofGapSuite(backend: GrowBackend): void {
  for (const g of GROWTHS) {
    it(`${g.name}: the bytes between the old EOF and the new data read as zeros`, async (ctx) => {
      const { file, dispose } = await backend.make();
      try {
        if (g.needs !== undefined && file[g.needs] === undefined) {
          ctx.skip();
          return;
        }
        const head = pattern(START, 3);
        await file.write(0, head);
        expect(file.size()).toBe(START);
        await file.scribblePastEof(GARBAGE);
        const brought = await g.grow(file);
        const size = file.size();
        expect(size).toBeGreaterThan(START);
        const model = new Uint8Array(size);
        model.set(head);
        for (const { pos, bytes } of brought) model.set(bytes, pos);
        const got = file.read(0, size);
        const firstWrong = got.findIndex((b, i) => b !== model[i]);
        expect(firstWrong, `first differing byte (garbage is 0x${GARBAGE.toString(16)})`).toBe(-1);
      } finally {
        dispose();
      }
    });
  }
}
