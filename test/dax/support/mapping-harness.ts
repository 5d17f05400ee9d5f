import { DaxMapping, type PageTableHooks } from '../../../lib/dax/mapping';
import type { DaxInode } from '../../../lib/dax/types';
import { PAGE_SIZE } from '../../../lib/iomap/constants';
import { MemoryDevice } from '../../../lib/testing/memory-device';

/** Page-table hooks that only record what was asked of them. */
export class RecordingPageTables implements PageTableHooks {
  readonly unmaps: [number, number][] = [];
  readonly cleans: [number, number, number][] = [];

  unmapPages(first: number, count: number): void {
    this.unmaps.push([first, count]);
  }

  cleanPages(first: number, count: number, pfn: number): void {
    this.cleans.push([first, count, pfn]);
  }
}

/** A bare inode over a fresh mapping, for tests of the entry machinery without a filesystem. */
export function bareInode(): DaxInode & { mapping: DaxMapping; pt: RecordingPageTables } {
  const mapping = new DaxMapping();
  const pt = new RecordingPageTables();
  mapping.pageTables = pt;
  return { size: 1 << 40, blockSize: PAGE_SIZE, mapping, pt };
}

export function flushingDevice(): MemoryDevice {
  const d = new MemoryDevice(64 * 1024 * 1024);
  d.recordFlushes = true;
  return d;
}
