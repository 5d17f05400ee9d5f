import { IOMAP_NULL_ADDR, IomapFlag, IomapOp, IomapType } from './constants';
import { Errno } from './errno';
import { IomapIter } from './iter';
import type { Iomap, IomapInode, IomapOps } from './types';

/** FIEMAP extent flags (the values of linux/fiemap.h). */
export const FiemapFlag = {
  LAST: 0x1,
  UNKNOWN: 0x2,
  DELALLOC: 0x4,
  DATA_INLINE: 0x200,
  UNWRITTEN: 0x800,
  MERGED: 0x1000,
  SHARED: 0x2000,
} as const;

export interface FiemapExtent {
  /** File offset in bytes. */
  logical: number;
  /** Device byte address; 0 when the mapping has none. */
  physical: number;
  length: number;
  /** FiemapFlag bits. */
  flags: number;
}

/** Where extents go: at most `max` of them. */
interface FiemapSink {
  readonly out: FiemapExtent[];
  readonly max: number;
}

/** iomap_to_fiemap -- emit one mapping; 1 when the array is (or just became) full. */
function emit(sink: FiemapSink, m: Readonly<Iomap>, extra: number): number {
  if (sink.out.length >= sink.max) return 1;
  let flags = extra;
  if (m.type === IomapType.DELALLOC) flags |= FiemapFlag.DELALLOC | FiemapFlag.UNKNOWN;
  else if (m.type === IomapType.UNWRITTEN) flags |= FiemapFlag.UNWRITTEN;
  else if (m.type === IomapType.INLINE) flags |= FiemapFlag.DATA_INLINE;
  if (m.flags & IomapFlag.MERGED) flags |= FiemapFlag.MERGED;
  if (m.flags & IomapFlag.SHARED) flags |= FiemapFlag.SHARED;
  sink.out.push({
    logical: m.offset,
    physical: m.addr === IOMAP_NULL_ADDR ? 0 : m.addr,
    length: m.length,
    flags,
  });
  return sink.out.length >= sink.max ? 1 : 0;
}

/**
 * iomapFiemap -- report the extents of `[start, start+len)` into `out` (at most `max`), one behind
 * as the kernel does, so that LAST marks the last extent reported. Returns 0 or a negative errno;
 * `-ENOENT` from the filesystem means "no extents".
 */
export function iomapFiemap<I extends IomapInode>(
  inode: I,
  start: number,
  len: number,
  ops: IomapOps<I>,
  out: FiemapExtent[],
  max = Number.POSITIVE_INFINITY,
): number {
  const sink: FiemapSink = { out, max };
  let prev: Readonly<Iomap> | null = null;
  const it = new IomapIter(inode, start, len, IomapOp.REPORT);
  let r;
  while ((r = it.next(ops)) > 0) {
    if (it.iomap.type === IomapType.HOLE) {
      it.status = it.advanceFull();
      continue;
    }
    const full = prev ? emit(sink, prev, 0) : 0;
    prev = { ...it.iomap };
    it.status = full === 1 ? 0 : it.advanceFull();
  }
  if (prev) emit(sink, prev, FiemapFlag.LAST);
  if (r < 0 && r !== -Errno.ENOENT) return r;
  return 0;
}
