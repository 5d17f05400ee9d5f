import { IomapFlag, IomapType, PAGE_SIZE } from '../iomap/constants';
import { Errno, errnoOf } from '../iomap/errno';
import type { IomapIter } from '../iomap/iter';
import type { DaxDevice } from '../device/types';
import { clearDirtyStep } from './clear-dirty';
import { daxCopyAround } from './copy-around';
import { DaxAccessMode, daxDirectAccessPages, daxMem2BlkErr } from './direct-access';
import { daxError } from './errors';
import { invalidateRangeStep, rangeCursor, type RangeCursor } from './invalidate';
import { blockOn, type BodyContext } from './iterate';
import { iomapPgoff } from './pgoff';
import { recoveryWrite } from './poison';
import type { DaxInode } from './types';

/**
 * The steps a mapping goes through before its copy, in order; a mapping starts at the first it needs
 * (a CoW at CLEAR_DIRTY, a new allocation at INVALIDATE, anything else at COPY).
 */
export const RwPhase = {
  /** Clear the dirty marks of the old (shared) block's entries, which would refuse a CoW. */
  CLEAR_DIRTY: 0,
  /** Invalidate the clean entries, so that readers fault again and see the new block. */
  INVALIDATE: 1,
  /** Copy around the written range within its pages (CoW only). */
  COPY_AROUND: 2,
  COPY: 3,
} as const;
export type RwPhase = (typeof RwPhase)[keyof typeof RwPhase];

/** State of one daxRead/daxWrite call. */
export interface RwContext extends BodyContext {
  readonly write: boolean;
  readonly buf: Uint8Array;
  /** File offset of `buf[0]`. */
  readonly start: number;
  phase: RwPhase;
  /** Progress of the entry scans of CLEAR_DIRTY and INVALIDATE; made only when a mapping needs them. */
  cursor: RangeCursor | null;
}

export function rwContext(write: boolean, buf: Uint8Array, start: number): RwContext {
  return {
    fresh: true,
    blockedMapping: null,
    blockedKey: 0,
    error: null,
    write,
    buf,
    start,
    phase: RwPhase.COPY,
    cursor: null,
  };
}

/** Copy device bytes into `buf`, machine-check safe: on poison, copy what lies before it. */
function copyToBuffer(dev: DaxDevice, devOff: number, buf: Uint8Array, from: number, n: number, whole: boolean): number {
  try {
    dev.copySafe(devOff, whole ? buf : buf.subarray(from, from + n));
    return n;
  } catch (e) {
    if (errnoOf(e) === 0) throw e;
    const bad = (e as { offset?: unknown }).offset;
    const good = typeof bad === 'number' && bad > devOff && bad < devOff + n ? bad - devOff : 0;
    if (good > 0) dev.copySafe(devOff, buf.subarray(from, from + good));
    return good;
  }
}

function failAt(c: RwContext, it: IomapIter<DaxInode>, errno: number, pos: number): number {
  c.error = daxError(errno, c.write ? 'write' : 'read', { path: it.inode.path, offset: pos });
  return errno;
}

/**
 * daxIomapIter -- the body of read(2)/write(2) for one mapping (docs/semantics.md §6.1): holes and
 * unwritten extents read as zeros; data goes only to MAPPED or shared extents; after an allocation
 * (F_NEW) or before a CoW the clean entries of the range are invalidated; then a copy loop over
 * direct_access windows, with a recovery write over poison for writes.
 */
export function daxIomapIter(it: IomapIter<DaxInode>, c: RwContext): number {
  const iomap = it.iomap;
  const write = c.write;
  let pos = it.pos;
  let end = pos + it.length();
  if (!write) {
    end = Math.min(end, it.inode.size);
    if (pos >= end) return 0;
    if (iomap.type === IomapType.HOLE || iomap.type === IomapType.UNWRITTEN) {
      const from = pos - c.start;
      c.buf.fill(0, from, from + (end - pos));
      return it.advance(end - pos);
    }
  }
  if (iomap.type !== IomapType.MAPPED && (iomap.flags & IomapFlag.SHARED) === 0) return failAt(c, it, -Errno.EIO, pos);
  const cow = write && (iomap.flags & IomapFlag.SHARED) !== 0;
  const dev = iomap.daxDev;
  if (c.fresh) {
    c.fresh = false;
    c.phase = cow ? RwPhase.CLEAR_DIRTY : (iomap.flags & IomapFlag.NEW) !== 0 ? RwPhase.INVALIDATE : RwPhase.COPY;
    if (c.phase !== RwPhase.COPY) c.cursor = rangeCursor(Math.floor(pos / PAGE_SIZE));
  }
  if (c.phase !== RwPhase.COPY) {
    const m = it.inode.mapping;
    const first = Math.floor(pos / PAGE_SIZE);
    const last = Math.floor((end - 1) / PAGE_SIZE);
    const cursor = c.cursor as RangeCursor;
    if (c.phase === RwPhase.CLEAR_DIRTY) {
      // A CoW must not be refused by marks left on the old (shared) block's entries.
      const b = clearDirtyStep(m, last, cursor);
      if (b !== null) return blockOn(c, m, b);
      c.phase = RwPhase.INVALIDATE;
      cursor.next = first;
    }
    if (c.phase === RwPhase.INVALIDATE) {
      // Readers of the zero page (or of the old shared block) must fault again and see the new block.
      const b = invalidateRangeStep(m, last, cursor);
      if (b !== null) return blockOn(c, m, b);
      m.unmapPages(first, last - first + 1, false);
      c.phase = RwPhase.COPY_AROUND;
    }
    if (c.phase === RwPhase.COPY_AROUND && cow) {
      const r = daxCopyAround(pos, end - pos, PAGE_SIZE, it.readSource(), iomap);
      if (r < 0) return failAt(c, it, r, pos);
    }
    c.phase = RwPhase.COPY;
  }
  while (pos < end) {
    const off = pos % PAGE_SIZE;
    const pages = Math.ceil((end - pos + off) / PAGE_SIZE);
    const pgoff = iomapPgoff(iomap, pos);
    let avail = daxDirectAccessPages(dev, pgoff, pages, DaxAccessMode.ACCESS);
    let recovery = false;
    if (avail === -Errno.EHWPOISON && write) {
      avail = daxDirectAccessPages(dev, pgoff, pages, DaxAccessMode.RECOVERY_WRITE);
      recovery = avail > 0;
    }
    if (avail < 0) return failAt(c, it, daxMem2BlkErr(avail), pos);
    const d = dev as DaxDevice;
    let mapLen = avail * PAGE_SIZE - off;
    if (mapLen > end - pos) mapLen = end - pos;
    const devOff = pgoff * PAGE_SIZE + off;
    const from = pos - c.start;
    // The whole buffer in one window is the common case: no subarray for it.
    const whole = from === 0 && mapLen === c.buf.length;
    let xfer: number;
    if (recovery) xfer = recoveryWrite(d, devOff, c.buf.subarray(from, from + mapLen));
    else if (write) {
      d.copy(devOff, whole ? c.buf : c.buf.subarray(from, from + mapLen));
      xfer = mapLen;
    } else xfer = copyToBuffer(d, devOff, c.buf, from, mapLen, whole);
    const st = it.advance(xfer);
    if (st < 0) return st;
    if (xfer === 0) return failAt(c, it, write ? -Errno.EFAULT : -Errno.EIO, pos);
    if (xfer < mapLen) break;
    pos = it.pos;
  }
  return 0;
}
