import type { DaxDevice } from '../device/types';
import { bytesOf } from '../device/validate';
import { daxBreakLayout } from '../dax/break-layout';
import { withInvalidateLocks } from '../dax/invalidate-lock';
import { daxDedupeCompare } from '../dax/dedupe';
import { daxError } from '../dax/errors';
import { daxFiemap } from '../dax/fiemap';
import { daxRead } from '../dax/read';
import { daxSeekData, daxSeekHole, type DaxSeekOptions } from '../dax/seek';
import { daxTruncatePage } from '../dax/truncate-page';
import { daxFileUnshare } from '../dax/unshare';
import { daxWrite } from '../dax/write';
import { daxWritebackMappingRange } from '../dax/writeback';
import { daxZeroEof, daxZeroEofSync } from '../dax/zero-eof';
import { daxZeroRange } from '../dax/zero-range';
import type { FiemapExtent } from '../iomap/fiemap';
import { Errno } from '../iomap/errno';
import { PAGE_SIZE } from '../iomap/constants';
import { BlockAllocator } from './memfs-alloc';
import { MemInode, NO_BLOCK, PageState } from './memfs-inode';
import { MemFsOps } from './memfs-ops';

const LAST_INDEX = Number.MAX_SAFE_INTEGER;

/**
 * MemFs -- the reference filesystem for tests and benchmarks: files on a DaxDevice whose I/O goes
 * through the DAX layer, with the syscall-level steps the kernel's filesystems add around it
 * (i_size updates, breaking layouts before blocks are freed, zeroing partial blocks, flushing before
 * a remap). It keeps block maps in memory only: it is not crash consistent, the pool is.
 */
export class MemFs {
  readonly device: DaxDevice;
  readonly alloc: BlockAllocator;
  readonly ops: MemFsOps;
  private readonly inodes: MemInode[] = [];

  constructor(device: DaxDevice) {
    this.device = device;
    this.alloc = new BlockAllocator(device);
    this.ops = new MemFsOps(device, this.alloc);
  }

  create(path = `/file${this.inodes.length}`): MemInode {
    const inode = new MemInode(this.inodes.length + 1, path);
    this.inodes.push(inode);
    return inode;
  }

  get files(): readonly MemInode[] {
    return this.inodes;
  }

  /** pread into any TypedArray or DataView, by its byte length. */
  read(inode: MemInode, pos: number, target: ArrayBufferView): number {
    return daxRead(inode, pos, bytesOf(target), this.ops);
  }

  /**
   * pwrite: the DAX write, then i_size grows to cover what was written. Past EOF, the old EOF block's
   * tail is zeroed first (stores through a mapping may have left bytes there); an empty write
   * changes nothing.
   */
  async write(inode: MemInode, pos: number, data: ArrayBufferView): Promise<number> {
    const bytes = bytesOf(data);
    if (bytes.length === 0) return 0;
    if (pos > inode.size) await daxZeroEof(inode, inode.size, pos, this.ops);
    const n = await daxWrite(inode, pos, bytes, this.ops);
    if (pos + n > inode.size) inode.size = pos + n;
    return n;
  }

  /** ftruncate, both ways. Shrinking zeroes the new EOF block's tail, drops entries, frees blocks. */
  async truncate(inode: MemInode, size: number): Promise<void> {
    if (size < 0) throw daxError(-Errno.EINVAL, 'ftruncate', { path: inode.path });
    await withInvalidateLocks([inode], () => this.truncateLocked(inode, size));
  }

  private async truncateLocked(inode: MemInode, size: number): Promise<void> {
    const old = inode.size;
    if (size < old) {
      await daxTruncatePage(inode, size, this.ops);
      const firstGone = Math.ceil(size / PAGE_SIZE);
      await daxBreakLayout(inode.mapping, this.device, firstGone, LAST_INDEX, { wait: true, path: inode.path });
      this.freePages(inode, firstGone, inode.pageCount);
    } else if (size > old) {
      // Bytes past the old EOF (stores through a mapping) must not become file data.
      await daxZeroEof(inode, old, size, this.ops);
    }
    inode.size = size;
  }

  /**
   * fallocate(PUNCH_HOLE|KEEP_SIZE): zero partial blocks, free whole ones. A block the range covers
   * up to EOF is whole: what lies past EOF in it is not file data.
   */
  async punch(inode: MemInode, pos: number, len: number): Promise<void> {
    await withInvalidateLocks([inode], () => this.punchLocked(inode, pos, len));
  }

  private async punchLocked(inode: MemInode, pos: number, len: number): Promise<void> {
    const end = pos + len;
    const firstWhole = Math.ceil(pos / PAGE_SIZE);
    const endWhole = end >= inode.size ? Math.ceil(end / PAGE_SIZE) : Math.floor(end / PAGE_SIZE);
    if (firstWhole > endWhole) {
      await daxZeroRange(inode, pos, len, this.ops);
      return;
    }
    if (pos < firstWhole * PAGE_SIZE) await daxZeroRange(inode, pos, firstWhole * PAGE_SIZE - pos, this.ops);
    if (end > endWhole * PAGE_SIZE) await daxZeroRange(inode, endWhole * PAGE_SIZE, end - endWhole * PAGE_SIZE, this.ops);
    if (endWhole > firstWhole) {
      await daxBreakLayout(inode.mapping, this.device, firstWhole, endWhole - 1, { wait: true, path: inode.path });
      this.freePages(inode, firstWhole, endWhole);
    }
  }

  /**
   * fallocate(0): give holes zeroed UNWRITTEN blocks; grows i_size unless `keepSize`, zeroing the old
   * EOF block's tail first (EAGAIN where that would wait for an entry lock).
   */
  fallocate(inode: MemInode, pos: number, len: number, keepSize = false): void {
    const grows = !keepSize && pos + len > inode.size;
    if (grows) daxZeroEofSync(inode, inode.size, pos + len, this.ops);
    const first = Math.floor(pos / PAGE_SIZE);
    const end = Math.ceil((pos + len) / PAGE_SIZE);
    for (let p = first; p < end; ) {
      if (inode.blockAt(p) !== NO_BLOCK) {
        p++;
        continue;
      }
      let hole = 1;
      while (p + hole < end && inode.blockAt(p + hole) === NO_BLOCK) hole++;
      const [block, n] = this.alloc.alloc(hole);
      for (let i = 0; i < n; i++) inode.setPage(p + i, block + i, PageState.UNWRITTEN | PageState.UNCOMMITTED);
      p += n;
    }
    if (grows) inode.size = pos + len;
  }

  /** fallocate(ZERO_RANGE|KEEP_SIZE) as DAX zeroing. */
  async zeroRange(inode: MemInode, pos: number, len: number): Promise<boolean> {
    return daxZeroRange(inode, pos, len, this.ops);
  }

  /**
   * FICLONERANGE: share `[srcOff, srcOff+len)` of `src` into `dst` at `dstOff`. Offsets must be
   * page-aligned; `len` too, unless the range ends at the source's EOF and reaches the target's.
   * Unwritten source pages arrive as holes (they read as zeros either way).
   */
  async reflink(src: MemInode, srcOff: number, dst: MemInode, dstOff: number, len: number): Promise<void> {
    this.checkRemap(src, srcOff, dst, dstOff, len);
    await withInvalidateLocks([src, dst], async () => {
      await this.flushForRemap(src, srcOff, dst, dstOff, len);
      // A clone past the target's EOF must not expose bytes left past it.
      if (dstOff + len > dst.size) await daxZeroEof(dst, dst.size, dstOff, this.ops);
      this.share(src, srcOff, dst, dstOff, len);
      if (dstOff + len > dst.size) dst.size = dstOff + len;
    });
  }

  /** FIDEDUPERANGE: share the range only if both hold the same bytes; else EBADE. */
  async dedupe(src: MemInode, srcOff: number, dst: MemInode, dstOff: number, len: number): Promise<void> {
    this.checkRemap(src, srcOff, dst, dstOff, len);
    if (dstOff + len > dst.size) throw daxError(-Errno.EINVAL, 'ioctl', { path: dst.path, offset: dstOff });
    await withInvalidateLocks([src, dst], async () => {
      await this.flushForRemap(src, srcOff, dst, dstOff, len);
      if (!daxDedupeCompare(src, srcOff, dst, dstOff, len, this.ops)) {
        throw daxError(-Errno.EBADE, 'ioctl', { path: dst.path, offset: dstOff });
      }
      this.share(src, srcOff, dst, dstOff, len);
    });
  }

  /** fallocate(UNSHARE_RANGE). */
  async unshare(inode: MemInode, pos: number, len: number): Promise<void> {
    await withInvalidateLocks([inode], () => daxFileUnshare(inode, pos, len, this.ops));
  }

  /**
   * fsync: flush the dirty entries of the byte range (inclusive `end`; the whole file by default),
   * then commit every block mapping of the file (F_DIRTY clears).
   */
  async fsync(inode: MemInode, range: { start?: number; end?: number } = {}): Promise<void> {
    await daxWritebackMappingRange(inode, this.device, { sync: true, start: range.start, end: range.end });
    for (let p = 0; p < inode.pageCount; p++) inode.state[p] = inode.stateAt(p) & ~PageState.UNCOMMITTED;
  }

  seekData(inode: MemInode, offset: number, opts?: DaxSeekOptions): number {
    return daxSeekData(inode, offset, this.ops, opts);
  }

  seekHole(inode: MemInode, offset: number, opts?: DaxSeekOptions): number {
    return daxSeekHole(inode, offset, this.ops, opts);
  }

  fiemap(inode: MemInode, start: number, len: number, max?: number): FiemapExtent[] {
    return daxFiemap(inode, start, len, this.ops, max);
  }

  /** Consistency of the block maps against the reference counts; returns the problems found. */
  check(): string[] {
    const bad: string[] = [];
    const seen = new Map<number, number>();
    for (const f of this.inodes) {
      for (let p = 0; p < f.pageCount; p++) {
        const b = f.blockAt(p);
        if (b === NO_BLOCK) continue;
        seen.set(b, (seen.get(b) ?? 0) + 1);
        if (f.stateAt(p) & PageState.UNWRITTEN && this.alloc.get(b) > 1) bad.push(`${f.path} page ${p}: shared unwritten block`);
      }
    }
    const refs = this.alloc.refs;
    for (let b = 0; b < refs.length; b++) {
      if ((refs[b] ?? 0) !== (seen.get(b) ?? 0)) bad.push(`block ${b}: refcount ${refs[b] ?? 0}, referenced ${seen.get(b) ?? 0} times`);
    }
    return bad;
  }

  private checkRemap(src: MemInode, srcOff: number, dst: MemInode, dstOff: number, len: number): void {
    const fail = (): Error => daxError(-Errno.EINVAL, 'ioctl', { path: dst.path, offset: dstOff });
    if (len <= 0 || srcOff < 0 || dstOff < 0 || srcOff % PAGE_SIZE !== 0 || dstOff % PAGE_SIZE !== 0) throw fail();
    if (srcOff + len > src.size) throw fail();
    if (len % PAGE_SIZE !== 0 && !(srcOff + len === src.size && dstOff + len >= dst.size)) throw fail();
    if (src === dst && srcOff < dstOff + len && dstOff < srcOff + len) throw fail();
  }

  /** What remap_file_range_prep does for DAX: write both ranges back, drop the target's entries. */
  private async flushForRemap(src: MemInode, srcOff: number, dst: MemInode, dstOff: number, len: number): Promise<void> {
    await daxWritebackMappingRange(src, this.device, { sync: true, start: srcOff, end: srcOff + len - 1 });
    await daxWritebackMappingRange(dst, this.device, { sync: true, start: dstOff, end: dstOff + len - 1 });
    // The source's blocks become shared: its mappings must fault (and copy) on the next store.
    src.mapping.writeProtectPages(srcOff / PAGE_SIZE, Math.ceil(len / PAGE_SIZE));
    const first = dstOff / PAGE_SIZE;
    await daxBreakLayout(dst.mapping, this.device, first, first + Math.ceil(len / PAGE_SIZE) - 1, { wait: true, path: dst.path });
  }

  private share(src: MemInode, srcOff: number, dst: MemInode, dstOff: number, len: number): void {
    const count = Math.ceil(len / PAGE_SIZE);
    const s0 = srcOff / PAGE_SIZE;
    const d0 = dstOff / PAGE_SIZE;
    for (let i = 0; i < count; i++) {
      const b = src.blockAt(s0 + i);
      const usable = b !== NO_BLOCK && (src.stateAt(s0 + i) & PageState.UNWRITTEN) === 0;
      if (usable) this.alloc.ref(b);
      const old = dst.blockAt(d0 + i);
      if (old !== NO_BLOCK) this.alloc.unref(old);
      dst.setPage(d0 + i, usable ? b : NO_BLOCK, PageState.UNCOMMITTED);
    }
  }

  private freePages(inode: MemInode, from: number, to: number): void {
    for (let p = from; p < Math.min(to, inode.pageCount); p++) {
      const b = inode.blockAt(p);
      if (b !== NO_BLOCK) {
        this.alloc.unref(b);
        inode.setPage(p, NO_BLOCK, 0);
      }
    }
  }
}
