import { expect } from 'vitest';
import { CopyFlags, type Device } from '../../../lib/index';

// Every way a write (and the accesses around it) reaches the device mapping, each crossing `lost`: the
// first device offset whose page can no longer be stored to (a file truncated there, a hole a full
// filesystem cannot fill, poison). Shared by the host test and the pmem guest's.
const PAGE = 4096;

export interface FaultExpectation {
  readonly offset: number;
  readonly syscall: 'write' | 'read' | 'msync';
}

export interface StoreCase {
  readonly name: string;
  readonly run: (d: Device) => void;
  readonly expect: FaultExpectation;
  /** The bytes the method guarantees written before the failing page, when it guarantees any. */
  readonly written?: { offset: number; length: number; check: (bytes: Uint8Array) => boolean };
  /** The fault is a store's (a hole faults on stores only; a lost page on any access). */
  readonly stores: boolean;
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + seed) & 0xff || 1;
  return out;
}

const all = (value: number) => (bytes: Uint8Array) => bytes.every((b) => b === value);
const equal = (expected: Uint8Array) => (bytes: Uint8Array) => Buffer.from(bytes).equals(Buffer.from(expected));

/** The cases for a device of at least `lost` + 2 MiB bytes. Flushes are left out at `byte` granularity (there are none). */
export function storeTable(lost: number, granularity: 'cacheline' | 'byte' | 'page'): StoreCase[] {
  const write = (offset: number): FaultExpectation => ({ offset, syscall: 'write' });
  const cases: StoreCase[] = [];
  const copy = (name: string, start: number, length: number, flags: number) => {
    const data = pattern(length, start);
    cases.push({
      name: `copy ${name}`,
      run: (d) => d.copy(start, data, flags),
      expect: write(Math.max(start, lost)),
      written: start < lost ? { offset: start, length: lost - start, check: equal(data.subarray(0, lost - start)) } : undefined,
      stores: true,
    });
  };
  copy('64 B, ordinary stores', lost - 32, 64, CopyFlags.TEMPORAL);
  copy('200 B (under the non-temporal threshold)', lost - 100, 200, 0);
  copy('4 KiB, non-temporal', lost - 1000, PAGE, CopyFlags.NONTEMPORAL);
  copy('64 KiB (non-temporal by size)', lost - 3 * PAGE - 5, 64 * 1024, 0);
  copy('2 MiB, non-temporal', Math.max(0, lost - 5 * PAGE - 3), 2 * 1024 * 1024, CopyFlags.NONTEMPORAL);
  copy('NOFLUSH', lost - 10, 100, CopyFlags.NOFLUSH);
  copy('NODRAIN', lost - 10, 5000, CopyFlags.NODRAIN);
  copy('starting on the lost page', lost + 100, 64, 0);

  const fill = (name: string, start: number, length: number, flags: number) =>
    cases.push({
      name: `fill ${name}`,
      run: (d) => d.fill(start, 0x5a, length, flags),
      expect: write(Math.max(start, lost)),
      written: start < lost ? { offset: start, length: lost - start, check: all(0x5a) } : undefined,
      stores: true,
    });
  fill('64 B, ordinary stores', lost - 40, 64, CopyFlags.TEMPORAL);
  fill('1 MiB, non-temporal', lost - 3 * PAGE - 7, 1024 * 1024, CopyFlags.NONTEMPORAL);
  fill('NOFLUSH', lost - 1, 2, CopyFlags.NOFLUSH);
  fill('starting on the lost page', lost + PAGE, 10, 0);

  // move: the source is written first, where the device still has its pages.
  const move = (name: string, dst: number, src: number, length: number, flags: number, faultAt: number, guaranteed: number) => {
    const srcBytes = Math.min(length, lost - src);
    const data = pattern(srcBytes, dst);
    cases.push({
      name: `move ${name}`,
      run: (d) => {
        d.copy(src, data);
        d.move(dst, src, length, flags);
      },
      expect: write(faultAt),
      written: guaranteed > 0 ? { offset: dst, length: guaranteed, check: equal(data.subarray(0, guaranteed)) } : undefined,
      stores: faultAt >= dst && faultAt < dst + length,
    });
  };
  move('into the lost page', lost - 100, 0, 300, 0, lost, 100);
  move('into the lost page, 256 KiB, non-temporal', lost - 2 * PAGE - 9, lost - 2 * PAGE - 9 - 512 * 1024, 256 * 1024, CopyFlags.NONTEMPORAL, lost, 2 * PAGE + 9);
  move('from the lost page', 0, lost - 50, 200, 0, lost, 50);
  move('overlapping, across the lost page', lost - PAGE, lost - PAGE - 100, 2 * PAGE, 0, lost, 0);

  if (granularity === 'cacheline') {
    const flush = (name: string, run: (d: Device) => void) =>
      cases.push({ name, run, expect: { offset: lost, syscall: 'msync' }, stores: false });
    flush('persist', (d) => d.persist(lost - 64, 128));
    flush('flush', (d) => d.flush(lost - 64, 128));
    flush('persistRanges', (d) => d.persistRanges([{ offset: 0, length: 64 }, { offset: lost - 64, length: 128 }]));
  }
  cases.push({ name: 'copySafe', run: (d) => d.copySafe(lost - 64, new Uint8Array(128)), expect: { offset: lost, syscall: 'read' }, stores: false });
  return cases;
}

/** What `fn` threw; a call that returns fails the test. */
export function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

/** A write or read that met SIGBUS: its code, system call and offset, and a message saying which and where. */
export function expectFault(error: unknown, expected: FaultExpectation, code: string, words: RegExp): void {
  expect(error).toBeInstanceOf(Error);
  expect(error).toMatchObject({ code, syscall: expected.syscall, offset: expected.offset });
  expect((error as Error).message).toMatch(words);
  expect((error as Error).message).toContain(`at offset ${expected.offset}`);
}
