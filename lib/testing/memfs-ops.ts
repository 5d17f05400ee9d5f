import type { DaxDevice } from '../device/types';
import { daxError } from '../dax/errors';
import { Errno } from '../iomap/errno';
import { IOMAP_NULL_ADDR, IomapFlag, IomapOp, IomapType, PAGE_SIZE, type IomapType as IomapTypeValue } from '../iomap/constants';
import type { Iomap, IomapBeginResult, IomapOps } from '../iomap/types';
import type { BlockAllocator } from './memfs-alloc';
import { MemInode, NO_BLOCK, PageState } from './memfs-inode';

/** What `end` must finish for a CoW mapping: the destination blocks allocated by `begin`. */
interface CowRecord {
  readonly firstPage: number;
  readonly dest: number;
  readonly count: number;
}

/** One call seen by the filesystem, for tests of the begin/end contract. */
export interface OpsTraceRecord {
  readonly call: 'begin' | 'end';
  readonly ino: number;
  readonly pos: number;
  readonly length: number;
  readonly flags: number;
  /** `end` only. */
  readonly written?: number;
  readonly iomap: Readonly<Iomap>;
  readonly srcmap?: Readonly<Iomap>;
}

type PageClass = 'hole' | 'unwritten' | 'mapped' | 'shared';

/**
 * MemFsOps -- the reference filesystem's IomapOps over page-indexed block maps. It produces every
 * mapping DAX must handle: holes, unwritten extents, freshly allocated zeroed blocks (F_NEW), blocks
 * whose allocation is not committed (F_DIRTY), and shared (reflinked) blocks that a write, zeroing
 * or unshare turns into a CoW destination with the old blocks in `srcmap` (F_SHARED).
 */
export class MemFsOps implements IomapOps<MemInode> {
  /** Every begin/end, when set. */
  trace: OpsTraceRecord[] | null = null;
  /** Test hook: make the next `begin` throw this. */
  failNextBegin: Error | null = null;
  private readonly device: DaxDevice;
  private readonly alloc: BlockAllocator;

  constructor(device: DaxDevice, alloc: BlockAllocator) {
    this.device = device;
    this.alloc = alloc;
  }

  begin(inode: MemInode, pos: number, length: number, flags: number): IomapBeginResult {
    if (this.failNextBegin !== null) {
      const e = this.failNextBegin;
      this.failNextBegin = null;
      throw e;
    }
    const first = Math.floor(pos / PAGE_SIZE);
    const want = Math.max(1, Math.ceil((pos + length) / PAGE_SIZE) - first);
    const cls = this.classify(inode, first);
    const write = (flags & IomapOp.WRITE) !== 0;
    const unshare = (flags & IomapOp.UNSHARE) !== 0;
    const zero = (flags & IomapOp.ZERO) !== 0;
    if (write && !unshare && (flags & IomapOp.OVERWRITE_ONLY) !== 0 && cls !== 'mapped') throw this.again(inode, pos);
    let r: IomapBeginResult;
    if (cls === 'shared' && (write || zero)) r = this.beginCow(inode, first, want, flags);
    else if (write && !unshare && (cls === 'hole' || cls === 'unwritten')) r = this.beginAllocate(inode, first, want, cls, flags);
    else r = this.report(inode, first, want, cls);
    this.trace?.push({ call: 'begin', ino: inode.ino, pos, length, flags, iomap: { ...r.iomap }, ...(r.srcmap ? { srcmap: { ...r.srcmap } } : {}) });
    return r;
  }

  end(inode: MemInode, pos: number, length: number, written: number, flags: number, iomap: Iomap): void {
    this.trace?.push({ call: 'end', ino: inode.ino, pos, length, flags, written, iomap: { ...iomap } });
    const cow = iomap.private as CowRecord | undefined;
    if (cow === undefined) return;
    // Commit the destination blocks of the pages the operation wrote; give back the rest.
    const lo = Math.floor(pos / PAGE_SIZE);
    const hi = written > 0 ? Math.ceil((pos + written) / PAGE_SIZE) : lo;
    for (let i = 0; i < cow.count; i++) {
      const page = cow.firstPage + i;
      const dest = cow.dest + i;
      if (page >= lo && page < hi) {
        const old = inode.blockAt(page);
        if (old !== NO_BLOCK) this.alloc.unref(old);
        inode.setPage(page, dest, PageState.UNCOMMITTED);
      } else {
        this.alloc.unref(dest);
      }
    }
  }

  private classify(inode: MemInode, page: number): PageClass {
    const b = inode.blockAt(page);
    if (b === NO_BLOCK) return 'hole';
    if (inode.stateAt(page) & PageState.UNWRITTEN) return 'unwritten';
    return this.alloc.get(b) > 1 ? 'shared' : 'mapped';
  }

  /** Pages from `first` (at most `want`) of class `cls` with consecutive blocks and equal state. */
  private run(inode: MemInode, first: number, want: number, cls: PageClass): number {
    const b0 = inode.blockAt(first);
    const s0 = inode.stateAt(first);
    let n = 1;
    while (n < want) {
      const p = first + n;
      if (this.classify(inode, p) !== cls) break;
      if (cls !== 'hole' && (inode.blockAt(p) !== b0 + n || inode.stateAt(p) !== s0)) break;
      n++;
    }
    return n;
  }

  private mapping(offset: number, length: number, type: IomapTypeValue, block: number, flags: number): Iomap {
    return {
      addr: block === NO_BLOCK ? IOMAP_NULL_ADDR : block * PAGE_SIZE,
      offset,
      length,
      type,
      flags,
      daxDev: block === NO_BLOCK ? null : this.device,
    };
  }

  private report(inode: MemInode, first: number, want: number, cls: PageClass): IomapBeginResult {
    const n = this.run(inode, first, want, cls);
    const b = inode.blockAt(first);
    const dirty = inode.stateAt(first) & PageState.UNCOMMITTED ? IomapFlag.DIRTY : 0;
    const type = cls === 'hole' ? IomapType.HOLE : cls === 'unwritten' ? IomapType.UNWRITTEN : IomapType.MAPPED;
    const shared = cls === 'shared' ? IomapFlag.SHARED : 0;
    return { iomap: this.mapping(first * PAGE_SIZE, n * PAGE_SIZE, type, b, shared | dirty) };
  }

  private beginAllocate(inode: MemInode, first: number, want: number, cls: PageClass, flags: number): IomapBeginResult {
    if (flags & IomapOp.NOWAIT) throw this.again(inode, first * PAGE_SIZE);
    const run = this.run(inode, first, want, cls);
    let block: number;
    let n: number;
    if (cls === 'unwritten') {
      // Convert in place: the blocks are this file's alone and were zeroed when allocated.
      block = inode.blockAt(first);
      n = run;
      this.device.fill(block * PAGE_SIZE, 0, n * PAGE_SIZE);
    } else {
      [block, n] = this.alloc.alloc(run);
    }
    for (let i = 0; i < n; i++) inode.setPage(first + i, block + i, PageState.UNCOMMITTED);
    return { iomap: this.mapping(first * PAGE_SIZE, n * PAGE_SIZE, IomapType.MAPPED, block, IomapFlag.NEW | IomapFlag.DIRTY) };
  }

  private beginCow(inode: MemInode, first: number, want: number, flags: number): IomapBeginResult {
    if (flags & IomapOp.NOWAIT) throw this.again(inode, first * PAGE_SIZE);
    const run = this.run(inode, first, want, 'shared');
    const [dest, n] = this.alloc.alloc(run);
    const src = inode.blockAt(first);
    const iomap = this.mapping(first * PAGE_SIZE, n * PAGE_SIZE, IomapType.MAPPED, dest, IomapFlag.SHARED | IomapFlag.DIRTY);
    iomap.private = { firstPage: first, dest, count: n } satisfies CowRecord;
    const srcmap = this.mapping(first * PAGE_SIZE, n * PAGE_SIZE, IomapType.MAPPED, src, 0);
    return { iomap, srcmap };
  }

  private again(inode: MemInode, pos: number): Error {
    return daxError(-Errno.EAGAIN, 'write', { path: inode.path, offset: pos });
  }
}
