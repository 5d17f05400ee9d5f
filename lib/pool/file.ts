import { setImmediate as nextTurn } from 'node:timers/promises';
import { nativeDeviceOf } from '../device/device';
import { daxRead } from '../dax/read';
import { daxSeekData, daxSeekHole, type DaxSeekOptions } from '../dax/seek';
import type { IomapOps } from '../iomap/types';
import { daxWrite, daxWriteSync } from '../dax/write';
import { daxZeroEof, eofGap } from '../dax/zero-eof';
import { daxZeroRangeSync } from '../dax/zero-range';
import { daxFiemap } from '../dax/fiemap';
import { daxWritebackMappingRange } from '../dax/writeback';
import { checkReachable } from '../device/mapped-memory';
import { bytesOf, checkNumber, checkOptions, received } from '../device/validate';
import { checkMmapOptions } from '../vm/file';
import { PmemdaxError, argTypeError, isErrnoError } from '../errors';
import { PAGE_SIZE } from '../iomap/constants';
import type { FiemapExtent } from '../iomap/fiemap';
import { DaxFile, type MmapOptions } from '../vm/file';
import type { DaxRegion } from '../vm/region';
import type { PoolCore, PoolIo } from './core';
import type { PoolState } from './state';
import type { PoolDevice } from './device';
import { poolError } from './errors';
import { ExtentState, type PageLookup } from './extent-map';
import { withInvalidateLocks } from '../dax/invalidate-lock';
import { fallocateLocked, remap, truncateLocked, unshareLocked } from './file-ops';
import { enterAll, orderOf, type Turn, type TurnKind } from './file-order';
import { statOf, type PoolInode } from './inode';
import { alignFirstRange, firstRangeMisplaced, reachesFirstRangeEnd } from './relocate';
import { landed, sizeAhead, storeByJob, storesPending, touchesPending } from './store-job';
import { FILE_SIZE_MAX, NO_BLOCK } from './layout';
import type { FallocateMode, PoolStat } from './types';

const LAST_BYTE = Number.MAX_SAFE_INTEGER;
/** What `close()` of a handle never used asynchronously returns: one promise, settled. */
const SETTLED = Promise.resolve();
/** The most an async write copies in one piece on the JavaScript thread (~0.1-0.3 ms into the page cache). */
const STORE_CHUNK = 1024 * 1024;

/**
 * PoolFile -- an open pool file. Data written is durable when `write` returns (non-temporal copies
 * into the media); the size and the blocks a write allocates are committed at `fsync`, or before
 * `write` returns for a file opened `{ sync: true }`. Calls that remove or remap blocks (truncate,
 * fallocate, clone, dedupe, unshare) are durable on return.
 *
 * Buffers are any TypedArray or DataView, taken by their bytes. The async calls that change a file
 * run one at a time in call order, across all its handles (FileOrder); appends get their offsets
 * when called. A call still unsettled when the pool closes rejects with ERR_PMEMDAX_CLOSED and
 * changes nothing after the close; one that resolved is in the close's final commit.
 */
export class PoolFile implements Disposable {
  readonly inode: PoolInode;
  readonly #core: PoolCore;
  readonly #sync: boolean;
  readonly #readonly: boolean;
  readonly #onClose: (f: PoolFile) => void;
  readonly #look: PageLookup = { block: NO_BLOCK, state: 0, run: 0 };
  #closed = false;
  /** Async calls of this handle not yet settled; the handle is released when the last one is. */
  #busy = 0;
  /** A promise method was called on it (or it was mapped, whose regions' fsync is one): its close settles in a macrotask. */
  #promised = false;
  #released = false;
  #whenReleased: (() => void)[] = [];

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
    const core = this.#core;
    if (core.closing || core.device.closed) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', `the pool of '${this.inode.path}' is closed`, { path: this.inode.path });
    if (core.state.torn !== null) this.#untorn(core.state.torn);
    return core;
  }

  /** A reader's file whose inode a failed refresh changed in part answers nothing (docs/design.md, "A refresh that fails"). */
  #untorn(torn: NonNullable<PoolState['torn']>): void {
    if (!torn.inodes.has(this.inode.ino)) return;
    throw new PmemdaxError(
      'ERR_PMEMDAX_REFRESH_FAILED',
      `file '${this.inode.path}' was changed in part by a refresh that failed (${torn.cause.message}); close it and open it again`,
      { path: this.inode.path, cause: torn.cause },
    );
  }

  /**
   * After a wait inside a call, before it changes anything more: the pool may have closed meanwhile,
   * and what lands after its final commit would be lost while the call resolved.
   */
  #kept(core: PoolCore): void {
    if (core.closed) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', `the pool of '${this.inode.path}' closed before the call finished`, { path: this.inode.path });
    // A reader's refresh that failed meanwhile may have torn this file's inode: a read in chunks stops there.
    if (core.state.torn !== null) this.#untorn(core.state.torn);
  }

  #writable(syscall: string): PoolCore {
    const core = this.#live();
    if (core.readonly) throw poolError('EROFS', syscall, this.inode.path);
    if (this.#readonly) throw poolError('EBADF', syscall, this.inode.path);
    return core;
  }

  /** pread into any TypedArray or DataView: fills up to its byteLength bytes; returns the bytes read. */
  readSync(buf: ArrayBufferView, pos: number): number {
    const bytes = bytesOf(buf);
    const core = this.#live();
    checkNumber(pos, 'pos');
    return this.#readNow(core, bytes, pos);
  }

  #readNow(core: PoolCore, bytes: Uint8Array, pos: number): number {
    return this.#readDirect(core, bytes, pos) ?? daxRead(this.inode, pos, bytes, core.ops);
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
      // A store from JavaScript: checked here as copySafe and daxRead check theirs.
      checkReachable(target, true, 'buf', this.inode.path);
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

  /**
   * Reads never wait for queued calls: a read sees the file as it is when called (a large one, chunk by
   * chunk). A large read is a call in flight: a close waits for it.
   */
  async read(buf: ArrayBufferView, pos: number): Promise<number> {
    this.#promised = true;
    const bytes = bytesOf(buf);
    const core = this.#live();
    checkNumber(pos, 'pos');
    if (bytes.length <= STORE_CHUNK) {
      const n = this.#timedRead(core, bytes, pos);
      const loop = core.pace();
      if (loop !== null) await loop;
      return n;
    }
    this.#busy++;
    const call = core.enterCall();
    try {
      return await this.#readChunks(core, bytes, pos);
    } finally {
      call();
      this.#settled();
    }
  }

  /**
   * A chunk at a time, giving the thread back between chunks (a chunk may fault pages in from a disk); as
   * with pread, a write landing meanwhile may show in the later chunks.
   */
  async #readChunks(core: PoolCore, bytes: Uint8Array, pos: number): Promise<number> {
    let done = 0;
    while (done < bytes.length) {
      const want = Math.min(STORE_CHUNK, bytes.length - done);
      const n = this.#timedRead(core, bytes.subarray(done, done + want), pos + done);
      done += n;
      if (n < want) break;
      if (done < bytes.length) {
        await nextTurn();
        this.#kept(core);
      }
    }
    return done;
  }

  #timedRead(core: PoolCore, bytes: Uint8Array, pos: number): number {
    const t0 = core.hold.start();
    const n = this.#readNow(core, bytes, pos);
    core.hold.stop(t0, 'read');
    return n;
  }

  #checkPos(pos: number): void {
    this.#position(pos, 'pos', 'write');
  }

  /** A file position or length: not a number is ERR_INVALID_ARG_TYPE; negative or not a safe integer is EINVAL, as the syscall says. */
  #position(value: unknown, name: string, syscall: string): asserts value is number {
    checkNumber(value, name);
    if (!Number.isSafeInteger(value) || value < 0) throw poolError('EINVAL', syscall, this.inode.path, value);
  }

  /** Throws EFBIG/ENOSPC before anything changes when the write cannot complete. */
  #precheck(core: PoolCore, pos: number, len: number): void {
    this.#checkPos(pos);
    if (pos + len > FILE_SIZE_MAX) throw poolError('EFBIG', 'write', this.inode.path, pos);
    const first = Math.floor(pos / PAGE_SIZE);
    const end = Math.ceil((pos + len) / PAGE_SIZE);
    const a = core.state.alloc;
    const look = this.inode.extents.lookup(first, this.#look);
    // The common case, an overwrite inside one unshared extent, needs no blocks.
    const readers = this.inode.seenByReaders(pos);
    if (look.block !== NO_BLOCK && look.run >= end - first && !a.anyCowFor(readers)) return;
    let need = end - first;
    this.inode.extents.forEach(first, end, (_p, count, block, state) => {
      if (state & ExtentState.UNWRITTEN) need -= count;
      else for (let i = 0; i < count; i++) if (!a.cowNeeded(block + i, readers)) need--;
    });
    if (need > 0 && !a.room(need)) throw a.noSpace(poolError('ENOSPC', 'write', this.inode.path, pos));
  }

  /**
   * Records what a write did to the file; a `{ sync: true }` handle commits it here (sync calls) or after the
   * turn (async), and so does any handle whose write `copied` blocks on write (a reader's, or a clone's): its
   * data is in new blocks, and would not be the file's after a crash before the next commit.
   */
  #wrote(core: PoolCore, pos: number, n: number, commitNow = true, copied = false): void {
    const inode = this.inode;
    core.inPlace?.wrote();
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
    // What the write needs may also be in a commit still in flight (a size an async write set): commit() takes it over.
    if (commitNow && (this.#sync || copied) && (inode.metaDirty || core.committing)) core.commit();
  }

  /**
   * pwrite of the bytes of any TypedArray or DataView: returns the bytes written (short only before
   * poison). EAGAIN, with nothing written, when it would overlap an async call still queued.
   */
  writeSync(buf: ArrayBufferView, pos: number): number {
    const bytes = bytesOf(buf);
    const core = this.#writable('write');
    this.#checkPos(pos);
    if (bytes.length === 0) return 0;
    if (touchesPending(this.inode, Math.min(pos, this.inode.size), pos + bytes.length)) throw poolError('EAGAIN', 'write', this.inode.path, pos);
    const order = orderOf(this.inode);
    // With nothing queued the queue records nothing, and the write goes its usual way.
    if (order.idle) return this.#writeNow(core, bytes, pos);
    // Otherwise everything that can refuse the write is asked before syncWrite records its range: a refused
    // write leaves the queue's view of the file as it was (else later appends would land past a gap).
    const plan = this.#eofPlan(pos);
    if (plan === 'busy') throw poolError('EAGAIN', 'write', this.inode.path, pos);
    this.#precheck(core, pos, bytes.length);
    if (!order.syncWrite(pos, bytes.length)) throw poolError('EAGAIN', 'write', this.inode.path, pos);
    return this.#writeNow(core, bytes, pos, plan);
  }

  /** A sync write; `eof` is what to do about the old EOF block's tail, when the caller asked already. */
  #writeNow(core: PoolCore, bytes: Uint8Array, pos: number, eof?: 'zero' | 'skip'): number {
    // The common overwrite first, in a body small enough for V8 to inline into writeSync (every check the
    // general way makes costs a few nanoseconds of a 4 KiB overwrite that takes ~0.6 µs).
    const direct = pos <= this.inode.size;
    if (direct && this.#overwriteDirect(core.device, core, bytes, pos)) {
      const n = bytes.length;
      this.#wrote(core, pos, n);
      if (reachesFirstRangeEnd(pos, n)) this.#alignNow(core);
      return n;
    }
    return this.#writeGeneral(core, bytes, pos, eof, direct);
  }

  /** `tried`: #overwriteDirect said no already, and nothing since can change its mind. */
  #writeGeneral(core: PoolCore, bytes: Uint8Array, pos: number, eof: 'zero' | 'skip' | undefined, tried: boolean): number {
    // Counted from before the EOF block's zeroing, which copies it on write too.
    const copies = core.state.alloc.copies;
    if (pos > this.inode.size) {
      if (eof === undefined) this.#zeroEofNow(core, pos);
      else if (eof === 'zero') this.#zeroGap(core, pos);
    }
    let n = bytes.length;
    try {
      if (tried || !this.#overwriteDirect(core.device, core, bytes, pos)) {
        if (eof === undefined) this.#precheck(core, pos, bytes.length);
        n = daxWriteSync(this.inode, pos, bytes, core.ops);
      }
    } catch (e) {
      // Refused (ENOSPC) or cut short (EIO): whatever it decided in place is done with.
      core.inPlace?.wrote();
      throw e;
    }
    this.#wrote(core, pos, n, true, core.state.alloc.copies !== copies);
    if (reachesFirstRangeEnd(pos, n)) this.#alignNow(core);
    return n;
  }

  /** A write reached the end of the first 2 MiB range: move the range to one aligned extent if it is not on one. */
  #alignNow(core: PoolCore): void {
    // Not while an async call of the file is queued or between its pieces: the range may be in its hands.
    if (firstRangeMisplaced(this.inode) && orderOf(this.inode).idle) alignFirstRange(core, this.inode);
  }

  /**
   * A sync write past EOF first zeroes the old EOF block's tail (what a region stored past EOF must
   * not become file data). Queued async calls may own part of it: when they cover all of it there is
   * nothing to do, when they own only some of it the write cannot run without waiting (EAGAIN).
   */
  #zeroEofNow(core: PoolCore, pos: number): void {
    const plan = this.#eofPlan(pos);
    if (plan === 'busy') throw poolError('EAGAIN', 'write', this.inode.path, pos);
    if (plan === 'zero') this.#zeroGap(core, pos);
  }

  #zeroGap(core: PoolCore, pos: number): void {
    const gap = eofGap(this.inode, this.inode.size, pos);
    if (gap !== null) daxZeroRangeSync(this.inode, gap[0], gap[1], core.ops);
  }

  /** What a sync write at `pos` would have to do about the EOF block's tail ('skip' when nothing). */
  #eofPlan(pos: number): 'zero' | 'skip' | 'busy' {
    const gap = pos > this.inode.size ? eofGap(this.inode, this.inode.size, pos) : null;
    return gap === null ? 'skip' : orderOf(this.inode).syncZero(gap[0], gap[1]);
  }

  /**
   * The common write: an overwrite inside one written, unshared extent of a file no region maps,
   * over no poison. daxWrite would do exactly one durable copy for it; this does that copy without
   * the iteration. False sends every other write the general way.
   */
  #overwriteDirect(device: PoolDevice, core: PoolCore, buf: Uint8Array, pos: number): boolean {
    if (!Number.isSafeInteger(pos)) return false;
    const look = this.#oneExtent(pos, buf.length);
    if (look === null || (look.state & ExtentState.UNWRITTEN) !== 0) return false;
    const pages = Math.ceil((pos + buf.length) / PAGE_SIZE) - Math.floor(pos / PAGE_SIZE);
    const alloc = core.state.alloc;
    if (alloc.cowNeededIn(look.block, pages, false)) return false;
    if (device.directAccessPages === undefined || device.directAccessPages(look.block, pages) < pages) return false;
    const at = look.block * PAGE_SIZE + (pos % PAGE_SIZE);
    const gate = this.inode.seenByReaders(pos) ? alloc.inPlace : null;
    if (gate === null) {
      device.copy(at, buf);
      return true;
    }
    // Readers may come: the gate says whether committed blocks go in place now; when it cannot say at
    // once (the lock to take, readers to copy for) the general way asks it (copying()).
    if (!gate.storeNow()) return false;
    try {
      device.copy(at, buf);
    } finally {
      gate.stored();
    }
    return true;
  }

  /**
   * pwrite; runs after the async calls of the file made before it. The bytes of `buf` are read while
   * the call runs (its turn comes after the calls queued before it): change the buffer only once the
   * promise settles, or the file may get some of the new bytes.
   */
  async write(buf: ArrayBufferView, pos: number): Promise<number> {
    this.#promised = true;
    const bytes = bytesOf(buf);
    this.#writable('write');
    this.#checkPos(pos);
    if (bytes.length === 0) return 0;
    return this.#inTurn(orderOf(this.inode).enter('write', pos, bytes.length), 'write', (core, after) => this.#storeAt(core, bytes, pos, after), this.#commitsWrite(), false);
  }

  /**
   * The stores of an async write of `bytes` at `pos`, a chunk at a time: each chunk's copy holds the
   * thread, and between chunks the stores made so far become durable (the thread is free meanwhile).
   */
  async #storeAt(core: PoolCore, bytes: Uint8Array, pos: number, after: Promise<void>[]): Promise<number> {
    const io = core.asyncIo;
    // ENOSPC before the first byte when the whole write cannot fit now (chunks check again: others allocate between them).
    if (bytes.length > STORE_CHUNK) this.#precheck(core, pos, bytes.length);
    let done = 0;
    while (done < bytes.length) {
      if (done > 0) {
        await core.durable();
        this.#kept(core);
      }
      const chunk = bytes.length - done <= STORE_CHUNK ? (done === 0 ? bytes : bytes.subarray(done)) : bytes.subarray(done, done + STORE_CHUNK);
      const at = pos + done;
      const jobs = core.storeJobs;
      // Up to the size pending chunks will give the file, nothing past EOF needs zeroing: they write it.
      if (jobs !== null && at <= sizeAhead(this.inode)) {
        const job = storeByJob(core, jobs, this.inode, chunk, at, (a, n) => this.#wrote(core, a, n, false), () => this.#kept(core));
        if (job !== null) {
          after.push(job);
          done += chunk.length;
          continue;
        }
      }
      const landing = this.#landed(core);
      if (landing !== null) await landing;
      if (at > this.inode.size) {
        this.#precheck(core, at, chunk.length);
        await this.#zeroEof(core, at);
      }
      const t0 = core.hold.start();
      let n = this.#storeNow(core, io, chunk, at);
      if (n < 0) {
        // An entry of the range is locked (a fault or writeback of a region): wait for it.
        n = await daxWrite(this.inode, at, chunk, io.ops);
        this.#kept(core);
      } else {
        core.hold.stop(t0, 'store');
      }
      this.#wrote(core, at, n, false);
      done += this.#progress(n, at);
    }
    if (reachesFirstRangeEnd(pos, done) && firstRangeMisplaced(this.inode)) await this.#alignFirstRange(core);
    return done;
  }

  /**
   * In the write's turn, once its chunks have landed (a store job must not write the old blocks after
   * the copy): the move and its commit are synchronous, as the sync path makes them.
   */
  async #alignFirstRange(core: PoolCore): Promise<void> {
    const landing = this.#landed(core);
    if (landing !== null) await landing;
    const t0 = core.hold.start();
    alignFirstRange(core, this.inode);
    core.hold.stop(t0, 'relocate');
  }

  /**
   * The stores of one chunk without a wait, as writeSync makes them (the one-extent overwrite, or the
   * iteration): -1, having touched nothing, when an entry lock would make it wait.
   */
  #storeNow(core: PoolCore, io: PoolIo, chunk: Uint8Array, at: number): number {
    if (this.#overwriteDirect(io.device, core, chunk, at)) return chunk.length;
    this.#precheck(core, at, chunk.length);
    try {
      return daxWriteSync(this.inode, at, chunk, io.ops);
    } catch (e) {
      if (isErrnoError(e, 'EAGAIN')) return -1;
      throw e;
    }
  }

  /**
   * Before a write stores other than by a store job: the file's pending chunks land first (storeByJob).
   * Null, without a wait, when none is pending.
   */
  #landed(core: PoolCore): Promise<void> | null {
    const wait = landed(this.inode);
    return wait === null ? null : wait.then(() => this.#kept(core));
  }

  /** In an async call's turn nothing else runs on the file: the old EOF block's tail can be zeroed. */
  async #zeroEof(core: PoolCore, pos: number): Promise<void> {
    await daxZeroEof(this.inode, this.inode.size, pos, core.asyncIo.ops);
    this.#kept(core);
  }

  /**
   * Write all of `buf` at the end of the file, after every append of the file made before (async or
   * not, on any handle); returns the offset. EAGAIN, with nothing written, while a truncate,
   * fallocate, clone, dedupe or unshare of the file is queued: the offset is not known yet.
   */
  appendSync(buf: ArrayBufferView): number {
    const bytes = bytesOf(buf);
    const core = this.#writable('write');
    const order = orderOf(this.inode);
    // Past chunks still landing it would zero what they write (storeByJob): it waits for them.
    const ahead = sizeAhead(this.inode);
    if (touchesPending(this.inode, Math.min(this.inode.size, ahead), ahead + bytes.length)) throw poolError('EAGAIN', 'write', this.inode.path, this.inode.size);
    const at = order.syncAppend(bytes.length);
    if (at < 0) throw poolError('EAGAIN', 'write', this.inode.path, this.inode.size);
    try {
      for (let done = 0; done < bytes.length;) {
        done += this.#progress(this.#writeNow(core, done === 0 ? bytes : bytes.subarray(done), at + done), at + done);
      }
    } catch (error) {
      order.unreserve(at, bytes.length);
      throw error;
    }
    return at;
  }

  /**
   * Async append: its offset is reserved when called (after every earlier append, and after the end of
   * any write queued before it), and it resolves once all its bytes are written. A failed append may
   * leave a written prefix; when later appends were already placed after it, the rest of its range
   * stays in the file as zeros.
   */
  async append(buf: ArrayBufferView): Promise<number> {
    this.#promised = true;
    const bytes = bytesOf(buf);
    this.#writable('write');
    const order = orderOf(this.inode);
    const turn = order.enter('append', 0, bytes.length);
    return this.#inTurn(turn, 'write', async (core, after) => {
      // Behind a truncate or fallocate the offset is taken now, from the size they left.
      const at = turn.pos >= 0 ? turn.pos : sizeAhead(this.inode);
      try {
        await this.#storeAt(core, bytes, at, after);
      } catch (error) {
        if (turn.pos >= 0) order.unreserve(turn.pos, bytes.length);
        throw error;
      }
      return at;
    }, this.#commitsWrite(), false);
  }

  /** A write that made no progress and raised nothing would loop forever: call it the I/O error it is. */
  #progress(n: number, pos: number): number {
    if (n <= 0) throw poolError('EIO', 'write', this.inode.path, pos);
    return n;
  }

  /**
   * Run `fn` in the file's turn: after the calls queued before it, handing the file on however `fn`
   * ends. Then, outside the turn (later calls of the file may run meanwhile), wait until what `fn`
   * stored is durable, committed too when `commit` says so: a call settles only once it is durable.
   * A call made before its handle (or the pool, by `close()`) closed still runs; one the pool's
   * `closeSync()` overtook rejects with ERR_PMEMDAX_CLOSED.
   */
  /** Whether a promise write commits, asked once its stores are made: on a `sync` handle, or when it copied on write (`#wrote`). */
  #commitsWrite(): () => boolean {
    const a = this.#core.state.alloc;
    const copies = a.copies;
    return () => this.#sync || a.copies !== copies;
  }

  async #inTurn<T>(turn: Turn, syscall: string, fn: (core: PoolCore, after: Promise<void>[]) => Promise<T>, commit: boolean | (() => boolean), timeFn = true): Promise<T> {
    this.#busy++;
    const core = this.#core;
    const call = core.enterCall();
    try {
      return await this.#run(turn, core, syscall, fn, commit, timeFn);
    } finally {
      // Settled after every earlier call of the file, whether this one failed or not.
      if (turn.before !== null) await turn.before;
      turn.settled();
      call();
      this.#settled();
    }
  }

  /**
   * `timeFn`: `fn` holds the thread from start to end (its awaits are of promises already settled), so its
   * time counts in `longestHoldMs`; false for a call that waits inside and times its own pieces.
   */
  async #run<T>(turn: Turn, core: PoolCore, syscall: string, fn: (core: PoolCore, after: Promise<void>[]) => Promise<T>, commit: boolean | (() => boolean), timeFn: boolean): Promise<T> {
    let result: T;
    // What `fn` handed to store jobs: awaited after the turn (storeByJob).
    const after: Promise<void>[] = [];
    let ok = false;
    try {
      // Never before the call returns: a call made and a sync call (or closeSync) right after it see it queued.
      await (turn.ready ?? undefined);
      this.#kept(core);
      const t0 = timeFn ? core.hold.start() : 0;
      result = await fn(core, after);
      if (timeFn) core.hold.stop(t0, syscall);
      ok = true;
    } catch (e) {
      for (const p of after) p.catch(() => {});
      throw e;
    } finally {
      turn.done(ok);
    }
    if (after.length > 0) await Promise.all(after);
    // Its work done while the pool was open: this commit, or the final commit of a closeSync that comes while
    // it waits, takes it, so the call resolves. Work that went on past a closeSync is not in that commit, nor
    // is anything when that commit failed.
    const doneOpen = !core.closed;
    await ((typeof commit === 'function' ? commit() : commit) ? core.commitAsync() : core.durable());
    if (!(doneOpen && core.finalCommitted)) this.#kept(core);
    const loop = core.pace();
    if (loop !== null) await loop;
    return result;
  }

  /** One async call of this handle settled: a handle closed meanwhile is released with its last call. */
  #settled(): void {
    this.#busy--;
    if (this.#closed && this.#busy === 0) this.#release();
  }

  /**
   * The turn of a call that changes its files other than by a store job (or commits them: fsync): it is
   * ready once the calls before it have finished and their pending chunks have landed (storeByJob).
   */
  #enter(kind: TurnKind, ...others: PoolInode[]): Turn {
    const inodes = [this.inode, ...others];
    const turn = others.length === 0 ? orderOf(this.inode).enter(kind) : enterAll(inodes, kind);
    if (turn.ready === null && !inodes.some(storesPending)) return turn;
    const before = turn.ready;
    const ready = (async () => {
      await before;
      for (const inode of inodes) await landed(inode);
    })();
    return { ...turn, ready };
  }

  /** ftruncate, both ways; durable on return. */
  async truncate(size: number): Promise<void> {
    this.#promised = true;
    this.#writable('ftruncate');
    this.#position(size, 'size', 'ftruncate');
    if (size > FILE_SIZE_MAX) throw poolError('EFBIG', 'ftruncate', this.inode.path);
    // -0 passes as a non-negative integer; stored as given, the file's size would read back as -0.
    const len = size + 0;
    await this.#inTurn(this.#enter('blind'), 'ftruncate', async (core) => {
      await withInvalidateLocks([this.inode], () => truncateLocked(core, this.inode, len, () => this.#kept(core)));
    }, true, false);
  }

  /** fallocate(2): allocate (growing the size unless `keep-size`), punch a hole, or zero a range. Durable on return. */
  async fallocate(mode: FallocateMode, offset: number, length: number): Promise<void> {
    this.#promised = true;
    this.#writable('fallocate');
    this.#position(offset, 'offset', 'fallocate');
    this.#position(length, 'length', 'fallocate');
    if (length === 0) throw poolError('EINVAL', 'fallocate', this.inode.path, offset);
    if (typeof mode !== 'string') throw argTypeError(`The "mode" argument must be of type string. ${received(mode)}`);
    if (!['allocate', 'keep-size', 'punch-hole', 'zero-range'].includes(mode)) throw poolError('EOPNOTSUPP', 'fallocate', this.inode.path);
    if (offset + length > FILE_SIZE_MAX) throw poolError('EFBIG', 'fallocate', this.inode.path, offset);
    await this.#inTurn(this.#enter('blind'), 'fallocate', async (core) => {
      await withInvalidateLocks([this.inode], () => fallocateLocked(core, this.inode, mode, offset, length, () => this.#kept(core)));
    }, true, false);
  }

  /** SEEK_DATA (ENXIO at or past EOF); `opts` chooses how unwritten pages with entries count. */
  seekData(offset: number, opts?: DaxSeekOptions): number {
    this.#seekArgs(offset, opts);
    return daxSeekData(this.inode, offset + 0, this.#live().ops, opts);
  }

  seekHole(offset: number, opts?: DaxSeekOptions): number {
    this.#seekArgs(offset, opts);
    return daxSeekHole(this.inode, offset + 0, this.#live().ops, opts);
  }

  /**
   * lseek's offset: a negative one is ENXIO, as iomap_seek_data says; one that is not a safe integer is EINVAL.
   * Callers pass on `offset + 0`, so that -0 answers 0, not -0.
   */
  #seekArgs(offset: unknown, opts: unknown): void {
    checkNumber(offset, 'offset');
    checkOptions(opts);
    if (!Number.isSafeInteger(offset) && !(offset < 0)) throw poolError('EINVAL', 'lseek', this.inode.path, offset);
  }

  /** The pool's iomap operations for this file, for the DAX layer's functions (and tests driving them). */
  get iomapOps(): IomapOps<PoolInode> {
    return this.#live().ops;
  }

  fiemap(offset = 0, length = Math.max(1, this.inode.size - offset)): FiemapExtent[] {
    this.#position(offset, 'offset', 'ioctl');
    this.#position(length, 'length', 'ioctl');
    return daxFiemap(this.inode, offset, length, this.#live().ops);
  }

  /** FICLONERANGE: `target` shares `[srcOffset, +length)` of this file at `dstOffset`. Durable on return. */
  async clone(target: PoolFile, srcOffset: number, dstOffset: number, length: number): Promise<void> {
    this.#promised = true;
    const core = this.#live();
    this.#remapArgs(target, srcOffset, dstOffset, length);
    target.#writable('ioctl');
    if (target.#core !== core) throw poolError('EXDEV', 'ioctl', target.inode.path);
    target.#promised = true;
    await this.#remapInTurn(target, srcOffset, dstOffset, length, false);
  }

  #remapArgs(target: unknown, srcOffset: unknown, dstOffset: unknown, length: unknown): void {
    if (!(target instanceof PoolFile)) throw argTypeError(`The "target" argument must be a PoolFile, received ${target === null ? 'null' : typeof target}`);
    this.#position(srcOffset, 'srcOffset', 'ioctl');
    this.#position(dstOffset, 'dstOffset', 'ioctl');
    this.#position(length, 'length', 'ioctl');
  }

  /** clone/dedupe in the turn of both files; both handles stay busy until it settles. */
  async #remapInTurn(target: PoolFile, srcOffset: number, dstOffset: number, length: number, dedupe: boolean): Promise<void> {
    target.#busy++;
    try {
      await this.#inTurn(this.#enter('blind', target.inode), 'ioctl', async (core) => {
        await remap(core, this.inode, srcOffset, target.inode, dstOffset, length, dedupe, () => this.#kept(core));
      }, true);
    } finally {
      target.#settled();
    }
  }

  /** FIDEDUPERANGE: share the range only when both hold the same bytes (EBADE otherwise). Durable on return. */
  async dedupe(target: PoolFile, srcOffset: number, dstOffset: number, length: number): Promise<void> {
    this.#promised = true;
    const core = this.#live();
    this.#remapArgs(target, srcOffset, dstOffset, length);
    target.#writable('ioctl');
    if (target.#core !== core) throw poolError('EXDEV', 'ioctl', target.inode.path);
    target.#promised = true;
    await this.#remapInTurn(target, srcOffset, dstOffset, length, true);
  }

  /** fallocate(UNSHARE_RANGE): give the range blocks of its own. Durable on return. */
  async unshare(offset: number, length: number): Promise<void> {
    this.#promised = true;
    this.#writable('fallocate');
    this.#position(offset, 'offset', 'fallocate');
    this.#position(length, 'length', 'fallocate');
    await this.#inTurn(this.#enter('blind'), 'fallocate', async (core) => {
      await withInvalidateLocks([this.inode], () => unshareLocked(core, this.inode, offset, length, () => this.#kept(core)));
    }, true);
  }

  /** Write back what regions dirtied, then commit the metadata; after the async calls made before it. */
  async fsync(): Promise<void> {
    this.#promised = true;
    const core = this.#live();
    await this.#inTurn(this.#enter('wait'), 'fsync', async () => {
      const f = this.inode.daxFile;
      if (f !== null) await f.fsyncRange(0, LAST_BYTE, false);
    }, !core.readonly, false);
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
    if (!this.inode.mapping.empty) await daxWritebackMappingRange(this.inode, core.asyncIo.device, { sync: true, start: 0, end: LAST_BYTE });
    this.#kept(core);
    await (core.readonly ? core.durable() : core.commitAsync());
  }

  /** A region over part of the file (native devices only). */
  mmap(opts: MmapOptions): DaxRegion {
    this.#promised = true;
    const core = this.#live();
    checkMmapOptions(opts);
    const device = nativeDeviceOf(core.device);
    if (device === null) {
      throw new PmemdaxError('ERR_PMEMDAX_UNSUPPORTED_SOURCE', 'regions need a pool on a native Device', { path: this.inode.path });
    }
    if (opts.write !== false) this.#writable('mmap');
    const inode = this.inode;
    // Faults would map pages a store job has yet to write (storeByJob).
    if (storesPending(inode)) throw poolError('EAGAIN', 'mmap', inode.path);
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

  /**
   * Close the handle: calls made after it throw ERR_PMEMDAX_CLOSED; calls made before it run to the
   * end, and the promise settles once they have (the handle is released with the last of them, as a
   * file stays referenced by the I/O in flight). The last release of a file unmaps its regions (and
   * frees the file if it was unlinked). The pool's `closeSync()` releases at once.
   */
  close(): Promise<void> {
    this.#closed = true;
    if (!this.#released && (this.#busy === 0 || this.#core.closed)) this.#release();
    // A handle only ever used synchronously (open, *Sync calls, close in a loop) has no promises to settle
    // first: no macrotask and no promise per close, which a loop of them would otherwise pile up.
    if (this.#released && !this.#promised) return SETTLED;
    // A macrotask after the release: the promises of calls that just ended settle first.
    return new Promise<void>((resolve) => {
      if (this.#released) setImmediate(resolve);
      else this.#whenReleased.push(() => setImmediate(resolve));
    });
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const wake of this.#whenReleased.splice(0)) wake();
    if (this.inode.opens === 1 && this.inode.daxFile !== null) {
      this.inode.daxFile.close();
      this.inode.daxFile = null;
    }
    if (!this.#core.device.closed) this.#onClose(this);
  }

  [Symbol.dispose](): void {
    void this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
