import { IomapType } from '../iomap/constants';
import { Errno, errnoOf } from '../iomap/errno';
import type { Iomap } from '../iomap/types';
import { daxDirectAccessPages } from './direct-access';
import { iomapDeviceOffset, iomapPgoff } from './pgoff';
import { SCRATCH_MAX, stagingBuffer } from './scratch';

/** Fill `[p, p+n)` of the CoW destination from the source, or with zeros when there is no old data. */
function edge(p: number, n: number, src: Readonly<Iomap>, dst: Readonly<Iomap>, zero: boolean): number {
  const dev = dst.daxDev;
  if (dev === null) return -Errno.EIO;
  if (zero) {
    dev.fill(iomapDeviceOffset(dst, p), 0, n);
    return 0;
  }
  const sdev = src.daxDev;
  if (sdev === null || daxDirectAccessPages(sdev, iomapPgoff(src, p), 1) < 0) return -Errno.EIO;
  // Staged through the scratch buffer, which holds at most SCRATCH_MAX: a 2 MiB block takes two turns.
  for (let done = 0; done < n; done += SCRATCH_MAX) {
    const tmp = stagingBuffer(Math.min(SCRATCH_MAX, n - done));
    sdev.copySafe(iomapDeviceOffset(src, p + done), tmp);
    dev.copy(iomapDeviceOffset(dst, p + done), tmp);
  }
  return 0;
}

/**
 * daxCopyAround -- docs/semantics.md §4.4: fill the parts of the `align`-sized destination blocks around
 * `[pos, pos+length)` that the operation will not write itself: the head `[block start, pos)` and the
 * tail `[pos+length, block end)`. They are copied from `src`, or zeroed when the source has no data
 * (UNWRITTEN or a hole, or no separate source, which shows up as `src === dst`). A fault writes nothing itself:
 * with `fault` every block of the range is copied (or zeroed) whole. A write of whole blocks copies
 * nothing (the kernel copies them all the same, only for the write to replace them: a whole overwrite's
 * time, twice, on every copy on write). Returns 0 or `-EIO`.
 */
export function daxCopyAround(pos: number, length: number, align: number, src: Readonly<Iomap>, dst: Readonly<Iomap>, fault = false): number {
  const zero = src.type === IomapType.UNWRITTEN || src.type === IomapType.HOLE || src === dst;
  const head = pos % align;
  const end = pos + length;
  const blockEnd = Math.ceil(end / align) * align;
  try {
    if (fault) {
      for (let p = pos - head; p < blockEnd; p += align) {
        const r = edge(p, align, src, dst, zero);
        if (r < 0) return r;
      }
      return 0;
    }
    if (head !== 0) {
      const r = edge(pos - head, head, src, dst, zero);
      if (r < 0) return r;
    }
    if (end < blockEnd) {
      const r = edge(end, blockEnd - end, src, dst, zero);
      if (r < 0) return r;
    }
  } catch (e) {
    if (errnoOf(e) === 0) throw e;
    return -Errno.EIO;
  }
  return 0;
}
