import type { ByteRange, DaxDevice } from '../device/types';
import { PAGE_SIZE } from '../iomap/constants';

/**
 * A device that can repair poison by rewriting whole pages (the native Device on fsdax and the
 * memory device do; device-dax cannot). It is optional: without it a recovery write fails.
 */
export interface PoisonClearing {
  /** A page-aligned write of `data` (zeros if absent) over `[offset, offset+length)` that clears poison. */
  clearBadblocks(offset: number, length: number, data?: ArrayBufferView): void;
}

export function canClearPoison(d: DaxDevice): d is DaxDevice & PoisonClearing {
  return typeof (d as Partial<PoisonClearing>).clearBadblocks === 'function';
}

/** overlapsBadblocks -- whether device bytes `[offset, offset+length)` touch a known bad range. */
export function overlapsBadblocks(d: DaxDevice, offset: number, length: number, bad: readonly ByteRange[] = d.badblocks()): boolean {
  for (const b of bad) {
    if (b.offset < offset + length && offset < b.offset + b.length) return true;
  }
  return false;
}

/**
 * recoveryWrite -- dax_recovery_write for `src` at device byte `offset`. If the page-rounded range
 * is not bad, a plain durable copy. If it is bad, it must be page-aligned in offset and length and
 * the device must be able to clear poison; otherwise nothing is written and 0 is returned. The
 * device removes the badblocks only after the data is in place.
 */
export function recoveryWrite(d: DaxDevice, offset: number, src: Uint8Array): number {
  const lo = offset - (offset % PAGE_SIZE);
  const hi = Math.ceil((offset + src.length) / PAGE_SIZE) * PAGE_SIZE;
  if (!overlapsBadblocks(d, lo, hi - lo)) {
    d.copy(offset, src);
    return src.length;
  }
  if (offset % PAGE_SIZE !== 0 || src.length % PAGE_SIZE !== 0 || !canClearPoison(d)) return 0;
  d.clearBadblocks(offset, src.length, src);
  return src.length;
}

/**
 * zeroPageRange -- dax_zero_page_range for one page: a block write of zeros, which (as on pmem)
 * also clears poison when the device can. `bad` is the device's badblocks list, read once by the caller.
 */
export function zeroPageRange(d: DaxDevice, pgoff: number, bad: readonly ByteRange[]): void {
  const offset = pgoff * PAGE_SIZE;
  if (bad.length > 0 && canClearPoison(d) && overlapsBadblocks(d, offset, PAGE_SIZE, bad)) d.clearBadblocks(offset, PAGE_SIZE);
  else d.fill(offset, 0, PAGE_SIZE);
}
