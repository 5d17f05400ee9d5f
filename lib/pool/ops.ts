import type { DaxDevice } from '../device/types';
import { daxError } from '../dax/errors';
import { Errno, errnoOf } from '../iomap/errno';
import { IOMAP_NULL_ADDR, IomapFlag, IomapOp, IomapType, PAGE_SIZE } from '../iomap/constants';
import type { Iomap, IomapBeginResult, IomapOps } from '../iomap/types';
import { ExtentState, type PageLookup } from './extent-map';
import type { PoolInode } from './inode';
import { NO_BLOCK } from './layout';
import type { PoolState } from './state';

/** What `end` finishes for a CoW mapping: destination blocks reserved by `begin`. */
interface CowRecord {
  readonly firstPage: number;
  readonly dest: number;
  readonly count: number;
}

/** New blocks a plain write was trusted to fill: `end` zeroes what it did not write. */
interface FillRecord {
  readonly fill: true;
  /** Device byte where the unzeroed span of the new blocks starts, and its file offset. */
  readonly devStart: number;
  readonly fileStart: number;
  readonly length: number;
}

const HOLE = 0;
const UNWRITTEN = 1;
const MAPPED = 2;
const SHARED = 3;
type PageClass = typeof HOLE | typeof UNWRITTEN | typeof MAPPED | typeof SHARED;

/**
 * PoolOps -- the pool's iomap operations. Reads and overwrites answer from the extent map without
 * allocating; writes into holes allocate zeroed blocks (F_NEW), preferring the block after the
 * previous page's and otherwise the same offset within a 2 MiB group as the file page, so aligned
 * file ranges get PMD-mappable runs; unwritten extents convert in place; shared blocks become CoW
 * destinations with the old blocks in `srcmap`. Every new mapping is F_DIRTY until committed.
 */
export class PoolOps implements IomapOps<PoolInode> {
  private readonly look: PageLookup = { block: NO_BLOCK, state: 0, run: 0 };
  private readonly device: DaxDevice;
  private readonly s: PoolState;

  constructor(device: DaxDevice, state: PoolState) {
    this.device = device;
    this.s = state;
  }

  begin(inode: PoolInode, pos: number, length: number, flags: number): IomapBeginResult {
    const first = Math.floor(pos / PAGE_SIZE);
    const want = Math.max(1, Math.ceil((pos + length) / PAGE_SIZE) - first);
    const look = inode.extents.lookup(first, this.look);
    const write = (flags & IomapOp.WRITE) !== 0;
    const unshare = (flags & IomapOp.UNSHARE) !== 0;
    const readers = (write || (flags & IomapOp.ZERO) !== 0) && inode.seenByReaders(pos);
    const cls = this.classify(look, readers);
    if (write && !unshare && (flags & IomapOp.OVERWRITE_ONLY) !== 0 && cls !== MAPPED) throw this.again(inode, pos);
    const n = this.run(look, want, cls, readers);
    if (cls === SHARED && (write || (flags & IomapOp.ZERO) !== 0)) return this.beginCow(inode, first, n, look.block, flags);
    if (write && !unshare && (cls === HOLE || cls === UNWRITTEN)) return this.beginAllocate(inode, pos, length, first, n, cls, look.block, flags);
    const type = cls === HOLE ? IomapType.HOLE : cls === UNWRITTEN ? IomapType.UNWRITTEN : IomapType.MAPPED;
    const f = (cls === SHARED ? IomapFlag.SHARED : 0) | (look.state & ExtentState.UNCOMMITTED ? IomapFlag.DIRTY : 0);
    return { iomap: this.mapping(first, n, type, look.block, f) };
  }

  end(inode: PoolInode, pos: number, length: number, written: number, _flags: number, iomap: Iomap): void {
    const rec = iomap.private as CowRecord | FillRecord | undefined;
    if (rec === undefined) return;
    if ('fill' in rec) {
      // A short write (poison in the destination) must not leave old contents in the new blocks.
      const done = Math.max(0, pos + written - rec.fileStart);
      if (done < rec.length) this.device.fill(rec.devStart + done, 0, rec.length - done);
      return;
    }
    const cow = rec;
    // Commit the destination blocks of the pages written; give back the rest.
    const lo = Math.max(cow.firstPage, Math.floor(pos / PAGE_SIZE));
    const hi = Math.min(cow.firstPage + cow.count, written > 0 ? Math.ceil((pos + written) / PAGE_SIZE) : lo);
    const a = this.s.alloc;
    if (hi > lo) {
      if (written < length) this.completeShort(inode, pos + written, pos + length, cow);
      const dest = cow.dest + (lo - cow.firstPage);
      const old = inode.extents.blockAt(lo);
      a.confirm(dest, hi - lo);
      a.copies++;
      inode.extents.set(lo, hi - lo, dest, ExtentState.UNCOMMITTED);
      if (old !== NO_BLOCK) a.unref(old, hi - lo);
      inode.markDirty(lo, hi - lo);
      this.s.touch(inode);
    }
    if (lo > cow.firstPage) a.unreserve(cow.dest, lo - cow.firstPage);
    const tail = cow.firstPage + cow.count - Math.max(hi, lo);
    if (tail > 0) a.unreserve(cow.dest + cow.count - tail, tail);
  }

  /**
   * A short copy-on-write write stopped at `stop` inside a page: copy around filled the head and the tail
   * past `end` only, so the rest of that page, which commits, comes from the old block now. (The DAX write
   * stops only at page ends today, its recovery writes being whole pages; this keeps any later one safe.)
   * An old block that cannot be read there (poison) leaves zeros: never what the new block held before.
   */
  private completeShort(inode: PoolInode, stop: number, end: number, cow: CowRecord): void {
    const page = Math.floor(stop / PAGE_SIZE);
    const upto = Math.min(end, (page + 1) * PAGE_SIZE);
    if (stop % PAGE_SIZE === 0 || upto <= stop) return;
    const off = stop % PAGE_SIZE;
    const to = (cow.dest + page - cow.firstPage) * PAGE_SIZE + off;
    const old = inode.extents.blockAt(page);
    const bytes = new Uint8Array(upto - stop);
    try {
      this.device.copySafe(old * PAGE_SIZE + off, bytes);
    } catch (e) {
      if (errnoOf(e) === 0) throw e;
      bytes.fill(0);
    }
    this.device.copy(to, bytes);
  }

  private classify(look: PageLookup, readers: boolean): PageClass {
    if (look.block === NO_BLOCK) return HOLE;
    if (look.state & ExtentState.UNWRITTEN) return UNWRITTEN;
    return this.s.alloc.cowNeeded(look.block, readers) ? SHARED : MAPPED;
  }

  /** Pages from the looked-up one (at most `want`) of one class with consecutive blocks. */
  private run(look: PageLookup, want: number, cls: PageClass, readers: boolean): number {
    let n = Math.min(want, look.run);
    const a = this.s.alloc;
    if (cls === HOLE || !a.anyCowFor(readers)) return n;
    for (let i = 1; i < n; i++) {
      if (a.cowNeeded(look.block + i, readers) !== (cls === SHARED)) {
        n = i;
        break;
      }
    }
    return n;
  }

  private mapping(first: number, n: number, type: Iomap['type'], block: number, flags: number): Iomap {
    const mapped = block !== NO_BLOCK;
    return { addr: mapped ? block * PAGE_SIZE : IOMAP_NULL_ADDR, offset: first * PAGE_SIZE, length: n * PAGE_SIZE, type, flags, daxDev: mapped ? this.device : null };
  }

  private take(inode: PoolInode, first: number, n: number, reserve: boolean): [number, number] {
    const got = this.s.alloc.takeForPage(inode, first, n, reserve);
    if (got === null) throw this.s.alloc.noSpace(daxError(-Errno.ENOSPC, 'write', { path: inode.path, offset: first * PAGE_SIZE }));
    return got;
  }

  private beginAllocate(inode: PoolInode, pos: number, length: number, first: number, run: number, cls: PageClass, block: number, flags: number): IomapBeginResult {
    if (flags & IomapOp.NOWAIT) throw this.again(inode, first * PAGE_SIZE);
    let n = run;
    if (cls === HOLE) [block, n] = this.take(inode, first, run, false);
    // Converting part of an unwritten extent splits it: two more extents at most.
    else this.s.needRoomForExtents(2, 'write', inode.path);
    inode.extents.set(first, n, block, ExtentState.UNCOMMITTED);
    inode.markDirty(first, n);
    this.s.touch(inode);
    const iomap = this.mapping(first, n, IomapType.MAPPED, block, IomapFlag.NEW | IomapFlag.DIRTY);
    // Blocks handed to a file read as zeros until written (a crash must not expose old contents).
    // A plain write fills the bytes it covers itself: only the rest is zeroed now, and `end` zeroes
    // whatever a short write left.
    const devStart = block * PAGE_SIZE;
    const bytes = n * PAGE_SIZE;
    if ((flags & (IomapOp.FAULT | IomapOp.ZERO | IomapOp.UNSHARE)) !== 0) {
      this.device.fill(devStart, 0, bytes);
      return { iomap };
    }
    const head = Math.max(0, pos - first * PAGE_SIZE);
    const covered = Math.max(0, Math.min(bytes - head, pos + length - (first * PAGE_SIZE + head)));
    if (head > 0) this.device.fill(devStart, 0, head);
    if (head + covered < bytes) this.device.fill(devStart + head + covered, 0, bytes - head - covered);
    if (covered > 0) iomap.private = { fill: true, devStart: devStart + head, fileStart: first * PAGE_SIZE + head, length: covered } satisfies FillRecord;
    return { iomap };
  }

  private beginCow(inode: PoolInode, first: number, run: number, src: number, flags: number): IomapBeginResult {
    if (flags & IomapOp.NOWAIT) throw this.again(inode, first * PAGE_SIZE);
    const [dest, n] = this.take(inode, first, run, true);
    const iomap = this.mapping(first, n, IomapType.MAPPED, dest, IomapFlag.SHARED | IomapFlag.DIRTY);
    iomap.private = { firstPage: first, dest, count: n } satisfies CowRecord;
    return { iomap, srcmap: this.mapping(first, n, IomapType.MAPPED, src, 0) };
  }

  private again(inode: PoolInode, pos: number): Error {
    return daxError(-Errno.EAGAIN, 'write', { path: inode.path, offset: pos });
  }
}
