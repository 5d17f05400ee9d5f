import { Device } from '../device/device';
import { daxRead } from '../dax/read';
import { daxSeekData, daxSeekHole, type DaxSeekOptions } from '../dax/seek';
import type { IomapOps } from '../iomap/types';
import { daxWrite, daxWriteSync } from '../dax/write';
import { daxFiemap } from '../dax/fiemap';
import { daxWritebackMappingRange } from '../dax/writeback';
import { PmemdaxError } from '../errors';
import { PAGE_SIZE } from '../iomap/constants';
import type { FiemapExtent } from '../iomap/fiemap';
import { DaxFile, type MmapOptions } from '../vm/file';
import type { DaxRegion } from '../vm/region';
import type { PoolCore } from './core';
import { poolError } from './errors';
import { ExtentState, type PageLookup } from './extent-map';
import { withInvalidateLocks } from '../dax/invalidate-lock';
import { fallocateLocked, remap, truncateLocked, unshareLocked } from './file-ops';
import type { PoolInode } from './inode';
import { FILE_SIZE_MAX, NO_BLOCK } from './layout';
import { statOf } from './pool';
import type { FallocateMode, PoolStat } from './types';

const LAST_BYTE = Number.MAX_SAFE_INTEGER;

/**
 * PoolFile -- an open pool file. Data written is durable when `write` returns (non-temporal copies
 * into the media); the size and the blocks a write allocates are committed at `fsync`, or before
 * `write` returns for a file opened `{ sync: true }`. Calls that remove or remap blocks (truncate,
 * fallocate, clone, dedupe, unshare) are durable on return.
 */
export class PoolFile implements Disposable {
  readonly inode: PoolInode;
  readonly #core: PoolCore;
  readonly #sync: boolean;
  readonly #readonly: boolean;
  readonly #onClose: (f: PoolFile) => void;
  readonly #look: PageLookup = { block: NO_BLOCK, state: 0, run: 0 };
  #closed = false;

  constructor(core: PoolCore, inode: PoolInode, opts: { sync: boolean; readonly: boolean }, onClose: (f: PoolFile) => void) {
    this.#core = core;
    this.inode = inode;
    this.#sync = opts.sync;
    this.#readonly = opts.readonly;
    this.#onClose = onClose;
  }

  /** The file's name now ('' once unlinked). */
  get name(): string {
    this.#live();
    return this.inode.name ?? '';
  }

  get ino(): number {
    this.#live();
    return this.inode.ino;
  }

  /** Like every member but `closed` and `close`, it throws ERR_PMEMDAX_CLOSED once the file or its pool closed. */
  get size(): number {
    this.#live();
    return this.inode.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #live(): PoolCore {
    if (this.#closed) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', `file '${this.inode.path}' is closed`, { path: this.inode.path });
    if (this.#core.device.closed) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', `the pool of '${this.inode.path}' is closed`, { path: this.inode.path });
    return this.#core;
  }

  #writable(syscall: string): PoolCore {
    const core = this.#live();
    if (core.readonly) throw poolError('EROFS', syscall, this.inode.path);
    if (this.#readonly) throw poolError('EBADF', syscall, this.inode.path);
    return core;
  }

  readSync(buf: Uint8Array, pos: number): number {
    const core = this.#live();
    return this.#readDirect(core, buf, pos) ?? daxRead(this.inode, pos, buf, core.ops);
  }

  /**
   * The common read, inside one extent of a file no region maps, without the iomap iteration. It
   * does what daxRead does for that case (one poison-safe copy, or zeros for an unwritten extent);
   * null sends everything else (holes, several extents, poison, EOF edge cases) the general way.
   */
  #readDirect(core: PoolCore, buf: Uint8Array, pos: number): number | null {
    const size = this.inode.size;
    if (!Number.isSafeInteger(pos) || pos >= size || buf.length === 0) return null;
    const n = Math.min(buf.length, size - pos);
    const look = this.#oneExtent(pos, n);
    if (look === null) return null;
    const target = n === buf.length ? buf : buf.subarray(0, n);
    if (look.state & ExtentState.UNWRITTEN) {
      target.fill(0);
      return n;
    }
    try {
      core.device.copySafe(look.block * PAGE_SIZE + (pos % PAGE_SIZE), target);
    } catch {
      return null;
    }
    return n;
  }

  /**
   * The extent holding every page of `[pos, pos+length)` (an integer `pos`), looked up into the
   * reused `#look`, when one does and no region maps the file (its faults would need the DAX entries
   * kept in step); else null, and the caller takes the general path.
   */
  #oneExtent(pos: number, length: number): PageLookup | null {
    if (this.inode.hasEntries || pos < 0) return null;
    const first = Math.floor(pos / PAGE_SIZE);
    const look = this.inode.extents.lookup(first, this.#look);
    return look.block !== NO_BLOCK && look.run >= Math.ceil((pos + length) / PAGE_SIZE) - first ? look : null;
  }

  async read(buf: Uint8Array, pos: number): Promise<number> {
    return this.readSync(buf, pos);
  }

  /** Throws EFBIG/ENOSPC before anything changes when the write cannot complete. */
  #precheck(core: PoolCore, pos: number, len: number): void {
    if (!Number.isSafeInteger(pos) || pos < 0) throw poolError('EINVAL', 'write', this.inode.path, pos);
    if (pos + len > FILE_SIZE_MAX) throw poolError('EFBIG', 'write', this.inode.path, pos);
    const first = Math.floor(pos / PAGE_SIZE);
    const end = Math.ceil((pos + len) / PAGE_SIZE);
    const a = core.state.alloc;
    const look = this.inode.extents.lookup(first, this.#look);
    // The common case, an overwrite inside one unshared extent, needs no blocks.
    if (look.block !== NO_BLOCK && look.run >= end - first && !a.anyCow) return;
    let need = end - first;
    this.inode.extents.forEach(first, end, (_p, count, block, state) => {
      if (state & ExtentState.UNWRITTEN) need -= count;
      else for (let i = 0; i < count; i++) if (!a.cowNeeded(block + i)) need--;
    });
    if (need > a.free - a.keep) throw poolError('ENOSPC', 'write', this.inode.path, pos);
  }

  #wrote(core: PoolCore, pos: number, n: number): void {
    const inode = this.inode;
    if (!inode.mtimeStale) {
      // The new mtime goes out with the next commit; it alone never forces one.
      inode.mtimeStale = true;
      inode.timeDirty = true;
      core.state.touch(inode);
    }
    if (pos + n > inode.size) {
      inode.size = pos + n;
      inode.attrDirty = true;
      core.state.touch(inode);
    }
    if (this.#sync && inode.metaDirty) core.commit();
  }

  /** pwrite: returns the bytes written (short only before poison). */
  writeSync(buf: Uint8Array, pos: number): number {
    const core = this.#writable('write');
    if (buf.length === 0) return 0;
    let n = buf.length;
    if (!this.#overwriteDirect(core, buf, pos)) {
      this.#precheck(core, pos, buf.length);
      n = daxWriteSync(this.inode, pos, buf, core.ops);
    }
    this.#wrote(core, pos, n);
    return n;
  }

  /**
   * The common write: an overwrite inside one written, unshared extent of a file no region maps,
   * over no poison. daxWrite would do exactly one durable copy for it; this does that copy without
   * the iteration. False sends every other write the general way.
   */
  #overwriteDirect(core: PoolCore, buf: Uint8Array, pos: number): boolean {
    if (!Number.isSafeInteger(pos)) return false;
    const look = this.#oneExtent(pos, buf.length);
    if (look === null || (look.state & ExtentState.UNWRITTEN) !== 0) return false;
    const pages = Math.ceil((pos + buf.length) / PAGE_SIZE) - Math.floor(pos / PAGE_SIZE);
    const a = core.state.alloc;
    if (a.anyCow) for (let i = 0; i < pages; i++) if (a.cowNeeded(look.block + i)) return false;
    const device = core.device;
    if (device.directAccessPages === undefined || device.directAccessPages(look.block, pages) < pages) return false;
    device.copy(look.block * PAGE_SIZE + (pos % PAGE_SIZE), buf);
    return true;
  }

  async write(buf: Uint8Array, pos: number): Promise<number> {
    const core = this.#writable('write');
    if (buf.length === 0) return 0;
    this.#precheck(core, pos, buf.length);
    const n = await daxWrite(this.inode, pos, buf, core.ops);
    this.#wrote(core, pos, n);
    return n;
  }

  /** Write at the end of the file; returns the offset written at. */
  appendSync(buf: Uint8Array): number {
    const pos = this.inode.size;
    this.writeSync(buf, pos);
    return pos;
  }

  async append(buf: Uint8Array): Promise<number> {
    const pos = this.inode.size;
    await this.write(buf, pos);
    return pos;
  }

  /** ftruncate, both ways; durable on return. */
  async truncate(size: number): Promise<void> {
    const core = this.#writable('ftruncate');
    if (!Number.isSafeInteger(size) || size < 0) throw poolError('EINVAL', 'ftruncate', this.inode.path);
    if (size > FILE_SIZE_MAX) throw poolError('EFBIG', 'ftruncate', this.inode.path);
    await withInvalidateLocks([this.inode], () => truncateLocked(core, this.inode, size));
    core.commit();
  }

  /** fallocate(2): allocate (growing the size unless `keep-size`), punch a hole, or zero a range. Durable on return. */
  async fallocate(mode: FallocateMode, offset: number, length: number): Promise<void> {
    const core = this.#writable('fallocate');
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) {
      throw poolError('EINVAL', 'fallocate', this.inode.path, offset);
    }
    if (!['allocate', 'keep-size', 'punch-hole', 'zero-range'].includes(mode)) throw poolError('EOPNOTSUPP', 'fallocate', this.inode.path);
    if (offset + length > FILE_SIZE_MAX) throw poolError('EFBIG', 'fallocate', this.inode.path, offset);
    await withInvalidateLocks([this.inode], () => fallocateLocked(core, this.inode, mode, offset, length));
    core.commit();
  }

  /** SEEK_DATA (ENXIO at or past EOF); `opts` chooses how unwritten pages with entries count. */
  seekData(offset: number, opts?: DaxSeekOptions): number {
    return daxSeekData(this.inode, offset, this.#live().ops, opts);
  }

  seekHole(offset: number, opts?: DaxSeekOptions): number {
    return daxSeekHole(this.inode, offset, this.#live().ops, opts);
  }

  /** The pool's iomap operations for this file, for the DAX layer's functions (and tests driving them). */
  get iomapOps(): IomapOps<PoolInode> {
    return this.#live().ops;
  }

  fiemap(offset = 0, length = Math.max(1, this.inode.size - offset)): FiemapExtent[] {
    return daxFiemap(this.inode, offset, length, this.#live().ops);
  }

  /** FICLONERANGE: `target` shares `[srcOffset, +length)` of this file at `dstOffset`. Durable on return. */
  async clone(target: PoolFile, srcOffset: number, dstOffset: number, length: number): Promise<void> {
    const core = this.#live();
    target.#writable('ioctl');
    if (target.#core !== core) throw poolError('EXDEV', 'ioctl', target.inode.path);
    await remap(core, this.inode, srcOffset, target.inode, dstOffset, length, false);
    core.commit();
  }

  /** FIDEDUPERANGE: share the range only when both hold the same bytes (EBADE otherwise). Durable on return. */
  async dedupe(target: PoolFile, srcOffset: number, dstOffset: number, length: number): Promise<void> {
    const core = this.#live();
    target.#writable('ioctl');
    if (target.#core !== core) throw poolError('EXDEV', 'ioctl', target.inode.path);
    await remap(core, this.inode, srcOffset, target.inode, dstOffset, length, true);
    core.commit();
  }

  /** fallocate(UNSHARE_RANGE): give the range blocks of its own. Durable on return. */
  async unshare(offset: number, length: number): Promise<void> {
    const core = this.#writable('fallocate');
    await withInvalidateLocks([this.inode], () => unshareLocked(core, this.inode, offset, length));
    core.commit();
  }

  /** Write back what regions dirtied, then commit the metadata. */
  async fsync(): Promise<void> {
    const core = this.#live();
    const f = this.inode.daxFile;
    if (f !== null) await f.fsyncRange(0, LAST_BYTE, false);
    else await this.#flush(core);
  }

  async fdatasync(): Promise<void> {
    await this.fsync();
  }

  /** Commit the metadata now (file data is durable already unless a region mapped it: use `fsync` then). */
  fsyncSync(): void {
    const core = this.#live();
    if (!core.readonly) core.commit();
  }

  async #flush(core: PoolCore): Promise<void> {
    if (!this.inode.mapping.empty) await daxWritebackMappingRange(this.inode, core.device, { sync: true, start: 0, end: LAST_BYTE });
    if (!core.readonly) core.commit();
  }

  /** A region over part of the file (native devices only). */
  mmap(opts: MmapOptions): DaxRegion {
    const core = this.#live();
    const device = core.device;
    if (!(device instanceof Device)) {
      throw new PmemdaxError('ERR_PMEMDAX_UNSUPPORTED_SOURCE', 'regions need a pool on a native Device', { path: this.inode.path });
    }
    if (opts.write !== false) this.#writable('mmap');
    const inode = this.inode;
    inode.daxFile ??= new DaxFile({
      inode,
      ops: core.ops,
      device,
      fsync: () => this.#flush(core),
      invalidateLock: inode.invalidateLock,
    });
    return inode.daxFile.mmap(opts);
  }

  stat(): PoolStat {
    this.#live();
    return statOf(this.inode);
  }

  /** Close the handle; the last close of a file unmaps its regions (and frees it if it was unlinked). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.inode.opens === 1 && this.inode.daxFile !== null) {
      this.inode.daxFile.close();
      this.inode.daxFile = null;
    }
    if (!this.#core.device.closed) this.#onClose(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
