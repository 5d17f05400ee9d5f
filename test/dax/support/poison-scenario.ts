import type { DaxDevice } from '../../../lib/device/types';
import { PAGE_SIZE } from '../../../lib/iomap/constants';
import { MemFs } from '../../../lib/testing/memfs';

/** What a run of the poison scenario observed; the caller asserts on it. */
export interface PoisonObservation {
  /** Bytes a read from the start of the file returned (the pages before the bad one). */
  readonly shortRead: number;
  /** The error of a read starting on the bad page. */
  readonly readError: { code?: string; offset?: number } | null;
  /** The error of an unaligned write over the bad page, and whether the badblocks list changed. */
  readonly unalignedError: { code?: string } | null;
  readonly unalignedChangedList: boolean;
  /** Bytes the page-aligned recovery write wrote, and the device's badblocks after it. */
  readonly recoveryWritten: number;
  readonly badAfter: number;
  /** Whether the recovered page reads back as written. */
  readonly readBack: boolean;
}

/**
 * runPoisonScenario -- docs/semantics.md §7.2 / invariant 34 on any device: a file of 8 pages, poison
 * injected (by `inject`, given device bytes) into the 4th page's block; then a read, an unaligned
 * write and a page-aligned write over it. The same scenario serves the memory device (its test
 * hook) and a real fsdax device (sysfs badblocks in the pmem guest).
 */
export async function runPoisonScenario(device: DaxDevice, inject: (offset: number, length: number) => void): Promise<PoisonObservation> {
  const fs = new MemFs(device);
  const f = fs.create('/poison');
  await fs.write(f, 0, new Uint8Array(8 * PAGE_SIZE).fill(7));
  const bad = f.blockAt(3) * PAGE_SIZE + 1024;
  inject(bad, 512);
  const buf = new Uint8Array(8 * PAGE_SIZE);
  const shortRead = fs.read(f, 0, buf);
  let readError: PoisonObservation['readError'] = null;
  try {
    fs.read(f, 3 * PAGE_SIZE, buf);
  } catch (e) {
    readError = e as { code?: string; offset?: number };
  }
  const before = JSON.stringify(device.badblocks());
  let unalignedError: PoisonObservation['unalignedError'] = null;
  try {
    await fs.write(f, 3 * PAGE_SIZE + 100, new Uint8Array(10).fill(1));
  } catch (e) {
    unalignedError = e as { code?: string };
  }
  const unalignedChangedList = JSON.stringify(device.badblocks()) !== before;
  const data = new Uint8Array(PAGE_SIZE).fill(9);
  const recoveryWritten = await fs.write(f, 3 * PAGE_SIZE, data);
  const badAfter = device.badblocks().length;
  const back = new Uint8Array(PAGE_SIZE);
  const n = fs.read(f, 3 * PAGE_SIZE, back);
  return {
    shortRead,
    readError,
    unalignedError,
    unalignedChangedList,
    recoveryWritten,
    badAfter,
    readBack: n === PAGE_SIZE && back.every((b) => b === 9),
  };
}
