import { IomapOp, IomapType, PAGE_SIZE } from '../iomap/constants';
import { Errno } from '../iomap/errno';
import { IomapIter } from '../iomap/iter';
import type { Iomap, IomapOps } from '../iomap/types';
import { daxDirectAccess } from './direct-access';
import { daxError } from './errors';
import { iomapDeviceOffset, iomapPgoff } from './pgoff';
import { SCRATCH_MAX, comparisonBuffer, stagingBuffer } from './scratch';
import type { DaxInode } from './types';

/** Read `n` bytes of mapping `m` at file offset `pos` into `out`; false on poison or no device. */
function load(m: Readonly<Iomap>, pos: number, out: Uint8Array): boolean {
  const dev = m.daxDev;
  if (dev === null) return false;
  const pages = Math.ceil((out.length + (pos % PAGE_SIZE)) / PAGE_SIZE);
  if (typeof daxDirectAccess(dev, iomapPgoff(m, pos), pages) === 'number') return false;
  try {
    dev.copySafe(iomapDeviceOffset(m, pos), out);
  } catch {
    return false;
  }
  return true;
}

/**
 * daxDedupeCompare -- dax_dedupe_file_range_compare: whether `[srcOff, srcOff+len)` of `src` and
 * `[dstOff, dstOff+len)` of `dst` hold the same bytes, walking both files' mappings in lock step
 * with flags DAX. Two holes are equal; a hole against anything else is not (UNWRITTEN is compared
 * as raw media, as the kernel does). Each step is clipped to `iomap_length` of both sides (the
 * kernel clips to the raw mapping lengths). Any mapping or media error throws EIO.
 */
export function daxDedupeCompare(
  src: DaxInode,
  srcOff: number,
  dst: DaxInode,
  dstOff: number,
  len: number,
  ops: IomapOps<DaxInode>,
): boolean {
  if (len <= 0) return true;
  const si = new IomapIter(src, srcOff, len, IomapOp.DAX);
  const di = new IomapIter(dst, dstOff, len, IomapOp.DAX);
  let same = true;
  let r: number;
  while ((r = si.next(ops)) > 0 && (r = di.next(ops)) > 0) {
    const n = Math.min(si.length(), di.length());
    const sm = si.iomap;
    const dm = di.iomap;
    let status = 0;
    if (sm.type === IomapType.HOLE && dm.type === IomapType.HOLE) {
      status = si.advance(n) || di.advance(n);
    } else if (sm.type === IomapType.HOLE || dm.type === IomapType.HOLE) {
      same = false;
    } else {
      for (let done = 0; done < n && same; ) {
        const k = Math.min(SCRATCH_MAX, n - done);
        const a = stagingBuffer(k);
        const b = comparisonBuffer(k);
        if (!load(sm, si.pos + done, a) || !load(dm, di.pos + done, b)) {
          status = -Errno.EIO;
          break;
        }
        if (Buffer.compare(a, b) !== 0) same = false;
        done += k;
      }
      if (same && status === 0) status = si.advance(n) || di.advance(n);
    }
    si.status = status;
    di.status = status;
  }
  // Close whichever iterator still holds a mapping, so every begin gets its end.
  si.close(ops);
  di.close(ops);
  if (r < 0) throw (si.error ?? di.error) ?? daxError(r, 'ioctl', { path: dst.path, offset: dstOff });
  return same;
}
