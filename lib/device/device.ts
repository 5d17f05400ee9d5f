import { argTypeError, argValueError, errnoError, outOfRangeError } from '../errors';
import { native, type NativeDevice, type NativeHotPath, type NativeStats } from '../native';
import { classifyDaxMemory } from './dax-memory';
import { bindHotPath } from './hot-path';
import { checkReachable, registerMapping } from './mapped-memory';
import type {
  ByteRange,
  DaxBacking,
  DaxDevice,
  DeepFlushResult,
  DeviceInfo,
  DirectAccessOptions,
  DirectAccessResult,
  OpenOptions,
  Persistence,
  WriteRangesOptions,
} from './types';
import { bytesOf, checkBooleans, filledRanges, checkByte, checkFlags, checkIndex, checkMode, checkOptions, checkPath, checkRange, optionalBytesOf, received } from './validate';
import { PAGE_SIZE, PMD_SIZE } from '../units';

const DEFAULT_WINDOW_BYTES = 1024 * 1024 * 1024;
/** As fs.openSync: a created file is 0666 less the umask. */
const DEFAULT_FILE_MODE = 0o666;
const { deepFlush: DEEP_FLUSH, lock: NATIVE_LOCK } = native.constants;
/** What persistAsync returns when the work was done inline: one shared, already resolved promise. */
const SETTLED: Promise<void> = Promise.resolve();
/**
 * What persistAsync and writeAsync return when the native side queued nothing because the environment is
 * stopping (a worker being terminated; its JavaScript ends at the next check): like a job abandoned at the
 * environment's teardown, it never settles, so nothing is told the bytes are durable.
 */
const ABANDONED: Promise<void> = new Promise<void>(() => {});
const jobPromise = (queued: Promise<void> | undefined | null): Promise<void> => (queued === undefined ? SETTLED : (queued ?? ABANDONED));
const DEEP_FLUSH_RESULTS: ReadonlyMap<number, DeepFlushResult> = new Map([
  [DEEP_FLUSH.DONE, 'done'],
  [DEEP_FLUSH.NOT_NEEDED, 'not-needed'],
  [DEEP_FLUSH.NOT_PERMITTED, 'not-permitted'],
]);

export interface DeviceOpenOptions extends OpenOptions {
  /**
   * Bytes of the device each ArrayBuffer window covers (a multiple of 2 MiB, at most 1 GiB by default and
   * 4 GiB at most). Larger devices are served by several windows; `directAccess` never crosses one.
   */
  readonly windowBytes?: number;
  /**
   * Take this flock lock as part of the open, right after open(2) and before the file is sized or read
   * (the lock `lock` would take, held by this open). When another open holds a conflicting one the open
   * fails with `EAGAIN` (`syscall: 'flock'`). If the file was removed or replaced between the open and
   * the lock, the open starts again on what the path names now.
   */
  readonly lock?: DeviceLockMode;
  /**
   * With `size`: grow an existing smaller file (default). `false` sizes only a file that is new or empty,
   * and maps any other at the size it has.
   */
  readonly growExisting?: boolean;
  /**
   * The largest size `grow` may give the device, in bytes: its open reserves that much address space (no
   * memory) so that the mapping grows in place. Default: the size plus three times the size, at least 1 GiB
   * and at most 256 GiB more. Ignored on device-dax and read-only opens, which cannot grow.
   */
  readonly maxSize?: number;
}

/** The ArrayBuffers over one window: one, or after a grow, the one made before it and one over the rest. */
interface WindowPiece {
  readonly start: number;
  readonly buffer: ArrayBuffer;
}

export type DeviceStats = NativeStats;

/** `lock` modes, as flock(2)'s: one exclusive holder, or any number of shared ones. */
export type DeviceLockMode = 'exclusive' | 'shared';

/**
 * The [offset, length] pairs of a persistRanges or persistAsync argument, each checked against the device.
 * A Float64Array comes back as is: the native side copies it before it checks anything.
 */
function rangePairs(ranges: Float64Array | readonly ByteRange[], size: number): Float64Array {
  if (!(ranges instanceof Float64Array) && !Array.isArray(ranges)) {
    throw argTypeError('The "ranges" argument must be a Float64Array or an array of ranges');
  }
  let pairs: Float64Array;
  if (ranges instanceof Float64Array) {
    pairs = ranges;
  } else {
    pairs = new Float64Array(ranges.length * 2);
    ranges.forEach((r, i) => {
      pairs[2 * i] = r.offset;
      pairs[2 * i + 1] = r.length;
    });
  }
  if (pairs.length % 2 !== 0) throw outOfRangeError('A Float64Array of ranges must hold [offset, length] pairs');
  for (let i = 0; i < pairs.length; i += 2) checkRange(pairs[i], pairs[i + 1], size);
  return pairs;
}

/** One of `constants.lock`. */
function lockOption(mode: DeviceLockMode | undefined): number {
  if (mode === undefined) return NATIVE_LOCK.NONE;
  if (mode === 'exclusive') return NATIVE_LOCK.EXCLUSIVE;
  if (mode === 'shared') return NATIVE_LOCK.SHARED;
  throw argValueError(`The "lock" option must be 'exclusive' or 'shared', received ${String(mode)}`);
}

/** One of `constants.lock`, for a range lock. */
function rangeMode(mode: DeviceLockMode | 'none'): number {
  if (mode === 'none') return NATIVE_LOCK.NONE;
  if (mode === 'exclusive') return NATIVE_LOCK.EXCLUSIVE;
  if (mode === 'shared') return NATIVE_LOCK.SHARED;
  throw argValueError(`The "mode" argument must be 'exclusive', 'shared' or 'none', received ${String(mode)}`);
}

/** The largest end of a lock range: off_t's. */
const LOCK_END = (1n << 63n) - 1n;

function checkLockRange(start: bigint, length: bigint): void {
  if (typeof start !== 'bigint') throw argTypeError(`The "start" argument must be of type bigint. ${received(start)}`);
  if (typeof length !== 'bigint') throw argTypeError(`The "length" argument must be of type bigint. ${received(length)}`);
  if (start < 0n || length < 1n || start + length > LOCK_END) {
    throw outOfRangeError(`The lock range must lie within [0, 2^63 - 1), received start ${start} and length ${length}`);
  }
}

const nativeHandles = new WeakMap<Device, NativeDevice>();

/** The native handle of a device, for the layers inside this package that map it again (lib/vm). */
export function nativeHandleOf(device: Device): NativeDevice {
  return nativeHandles.get(device) as NativeDevice;
}

/** Lookups, scans and page checks in the pool's metadata trees where their pages lie: see NativeSharedHotPath.treeSearch, treeScan and treeCheck. */
export interface TreeReader {
  /** Kept with the functions: their handle is a bare pointer to its native device. */
  readonly device: Device;
  search(offset: number, key: Uint8Array, value: Uint8Array, visited: Uint32Array): number;
  scan(
    offset: number, start: Uint8Array, prefix: Uint8Array, skipStart: boolean, limit: number, out: Uint8Array, visited: Uint32Array,
    names?: string[],
  ): number;
  check(offset: number): boolean;
}

/** The in-place tree reads bound to `device`; null for a device that is not a native one. */
export function treeReaderOf(device: DaxDevice): TreeReader | null {
  if (!(device instanceof Device)) return null;
  const { treeSearch, treeScan, treeCheck } = native.NativeDevice.hotPath;
  const handle = nativeHandleOf(device).hot();
  // Bound, not wrapped: no JavaScript of ours between the caller and the addon, none to compile on first use.
  return {
    device,
    search: treeSearch.bind(null, handle),
    scan: treeScan.bind(null, handle),
    check: treeCheck.bind(null, handle),
  };
}

/** `device` when it is a native Device (regions map only those), null for any other DaxDevice. */
export function nativeDeviceOf(device: DaxDevice): Device | null {
  return device instanceof Device ? device : null;
}

/**
 * An opened device-dax, fsdax file or ordinary file, mapped whole. Offsets are device bytes; every write
 * method leaves the data durable on return unless its flags say otherwise.
 */
export class Device implements DaxDevice, Disposable {
  readonly path: string;
  #info: DeviceInfo;
  #size: number;
  /** This open created the file (`create` found nothing at the path). */
  readonly created: boolean;
  readonly #native: NativeDevice;
  readonly #hot: NativeHotPath;
  readonly #windowBytes: number;
  readonly #windows: (WindowPiece[] | undefined)[] = [];
  #bad: ByteRange[] = [];
  #closed = false;
  readonly #writable: boolean;

  private constructor(path: string, nativeDevice: NativeDevice) {
    this.path = path;
    this.#native = nativeDevice;
    this.#hot = bindHotPath(nativeDevice);
    nativeHandles.set(this, nativeDevice);
    const raw = nativeDevice.info();
    this.#size = raw.size;
    this.#windowBytes = raw.windowBytes;
    this.created = raw.created;
    this.#writable = raw.writable;
    const { windowBytes: _windowBytes, writable: _writable, created: _created, devMajor, devMinor, ...facts } = raw;
    const notes = [...raw.notes];
    let persistence: Persistence = raw.volatile ? 'volatile' : 'persistent';
    let daxBacking: DaxBacking | null = null;
    if (raw.kind === 'devdax') {
      const memory = classifyDaxMemory(devMajor, devMinor);
      ({ persistence, backing: daxBacking } = memory);
      if (persistence === 'volatile') notes.push(`${memory.detail}: MAP_SYNC and cache flushes cannot make data outlive a power cut here`);
      if (persistence === 'unknown') notes.push(`not known to be persistent memory: ${memory.detail}`);
    }
    this.#info = Object.freeze({
      ...facts,
      volatile: persistence === 'volatile',
      persistence,
      daxBacking,
      movntThreshold: raw.movntThreshold < 0 ? Infinity : raw.movntThreshold,
      notes: Object.freeze(notes),
    });
    this.#bad = this.#readBadblocks();
  }

  /** Opens and maps `path`. Throws fs-style errors (`ENOENT`, `EACCES`, …) or `ERR_PMEMDAX_*`. */
  static open(path: string, options: DeviceOpenOptions = {}): Device {
    checkPath(path);
    checkOptions(options);
    const size = options.size ?? 0;
    checkIndex(size, 'size');
    if (options.create && size === 0) throw outOfRangeError('Creating a file needs a "size" greater than 0');
    const windowBytes = options.windowBytes ?? DEFAULT_WINDOW_BYTES;
    checkIndex(windowBytes, 'windowBytes');
    if (windowBytes === 0 || windowBytes % PMD_SIZE !== 0 || windowBytes > 2 ** 32) {
      throw outOfRangeError(`The "windowBytes" option must be a multiple of 2 MiB up to 4 GiB, received ${windowBytes}`);
    }
    const lock = lockOption(options.lock);
    if (options.growExisting !== undefined && typeof options.growExisting !== 'boolean') {
      throw argTypeError(`The "growExisting" option must be of type boolean. ${received(options.growExisting)}`);
    }
    const mode = options.mode === undefined ? DEFAULT_FILE_MODE : options.mode;
    checkMode(mode);
    const maxSize = options.maxSize ?? 0;
    checkIndex(maxSize, 'maxSize');
    const nativeDevice = new native.NativeDevice(
      path, options.create === true, size, options.readonly === true, windowBytes, lock, options.growExisting !== false, mode, maxSize,
    );
    return new Device(path, nativeDevice);
  }

  /** Usable bytes; larger after `grow`. */
  get size(): number {
    return this.#size;
  }

  get info(): DeviceInfo {
    return this.#info;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Extend the file to `size` bytes (allocated, so stores never meet ENOSPC) and map the new bytes after
   * the old ones: the mapping does not move, so views, windows and regions made before stay valid. Up to
   * `info.maxSize`; beyond it, on device-dax, or below the size, ERR_PMEMDAX_SIZE. The same size does nothing.
   */
  grow(size: number): void {
    checkIndex(size, 'size');
    this.#native.grow(size);
    if (size <= this.#size) return;
    this.#size = size;
    this.#info = Object.freeze({ ...this.#info, size });
  }

  /**
   * direct_access: a view of up to `nrPages` pages from device page `pgoff`, and how many pages it covers
   * (at least 1 unless `nrPages` is 0). It stops at a window's end and before the first known bad page;
   * a bad first page is `EIO`, or, in recovery mode, a single page to overwrite.
   */
  directAccess(pgoff: number, nrPages: number, options?: DirectAccessOptions): DirectAccessResult {
    const pages = this.directAccessPages(pgoff, nrPages, options);
    const start = pgoff * PAGE_SIZE;
    const piece = this.#pieceAt(start) ?? this.#openWindow(Math.floor(start / this.#windowBytes));
    return { view: new Uint8Array(piece.buffer, start - piece.start, pages * PAGE_SIZE), pages };
  }

  /** The window buffer made so far that holds device offset `at`, if any. */
  #pieceAt(at: number): WindowPiece | undefined {
    const pieces = this.#windows[Math.floor(at / this.#windowBytes)];
    if (pieces === undefined) return undefined;
    for (const p of pieces) if (at >= p.start && at < p.start + p.buffer.byteLength) return p;
    return undefined;
  }

  /** The page count `directAccess` would give, for callers that copy by offset and need no view. */
  directAccessPages(pgoff: number, nrPages: number, options?: DirectAccessOptions): number {
    if (this.#closed) throw errnoError('ENXIO', 'direct_access', { path: this.path });
    checkIndex(pgoff, 'pgoff');
    checkOptions(options);
    if (typeof nrPages !== 'number' || !Number.isSafeInteger(nrPages)) checkIndex(nrPages, 'nrPages');
    if (nrPages < 0) throw errnoError('EINVAL', 'direct_access', { path: this.path });
    const start = pgoff * PAGE_SIZE;
    if (start + PAGE_SIZE > this.size) throw errnoError('ERANGE', 'direct_access', { path: this.path, offset: start });
    // A buffer made before a grow ends where the device ended then; one made now reaches the window's end.
    const made = this.#pieceAt(start);
    const windowEnd = made !== undefined ? made.start + made.buffer.byteLength : Math.min(this.size, (Math.floor(start / this.#windowBytes) + 1) * this.#windowBytes);
    const pages = Math.min(nrPages, Math.floor((windowEnd - start) / PAGE_SIZE));
    if (this.#bad.length > 0 && pages > 0) return this.#clipAtPoison(start, pages, options?.recovery === true);
    return pages;
  }

  #clipAtPoison(start: number, pages: number, recovery: boolean): number {
    const end = start + pages * PAGE_SIZE;
    for (const bad of this.#bad) {
      if (bad.offset + bad.length <= start) continue;
      if (bad.offset >= end) break;
      const clean = Math.floor((Math.max(bad.offset, start) - start) / PAGE_SIZE);
      if (clean > 0) return clean;
      if (recovery) return 1;
      throw errnoError('EIO', 'direct_access', { path: this.path, offset: Math.max(bad.offset, start) });
    }
    return pages;
  }

  /** Writes back the caches over the range (msync at page granularity); `drain` then orders it. */
  flush(offset: number, length: number): void {
    checkRange(offset, length, this.size);
    this.#hot.flush(offset, length);
  }

  /** Waits for earlier flushes and non-temporal stores to complete (sfence). */
  drain(): void {
    this.#hot.drain();
  }

  /** flush + drain: the range is durable on return. */
  persist(offset: number, length: number): void {
    checkRange(offset, length, this.size);
    this.#hot.persist(offset, length);
  }

  /** Persists many ranges with one drain: a Float64Array of [offset, length] pairs, or range objects. */
  persistRanges(ranges: Float64Array | readonly ByteRange[]): void {
    this.#hot.persistRanges(rangePairs(ranges, this.size));
  }

  /**
   * persistRanges without blocking the event loop: at `page` granularity the write-back runs on the libuv
   * thread pool (an msync for one range, one fdatasync for several) and the promise settles when every
   * range is durable; at `byte` and `cacheline` the
   * flushes (microseconds, less than the thread hop) run inline before it returns. The ranges are copied
   * at the call, so the caller may reuse its array at once. Never throws: bad arguments, a closed device
   * (`ERR_PMEMDAX_CLOSED`) and write-back failures (`syscall: 'msync'` or `'fdatasync'`) are rejections, with the errors
   * persistRanges throws.
   */
  persistAsync(ranges: Float64Array | readonly ByteRange[]): Promise<void> {
    try {
      return jobPromise(this.#native.persistAsync(rangePairs(ranges, this.size)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `copy` made durable without blocking the event loop: at `page` granularity on a file the bytes are
   * copied at the call and written (`pwrite`, then `msync` of their pages) on the libuv thread pool, so a
   * `pwrite` that waits on the filesystem waits there; elsewhere it is `copy`, inline. Never throws: bad
   * arguments, a closed device and write failures (`syscall: 'pwrite'` or `'msync'`) are rejections.
   */
  writeAsync(offset: number, src: ArrayBufferView): Promise<void> {
    try {
      const bytes = bytesOf(src, 'src');
      checkRange(offset, bytes.byteLength, this.size);
      checkReachable(bytes, false, 'src', this.path);
      return jobPromise(this.#native.writeAsync(Float64Array.of(offset, bytes.byteLength), bytes));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `writeAsync` scattered, and `persistAsync` with it: the bytes of `src`, in order, fill the leading
   * ranges exactly, and every range (the ones after them too) is made durable, in one job with one
   * write-back. With `{ writeBack: false }` the job only stores (at page granularity; a later persist makes
   * the bytes durable). Never throws, as `writeAsync`.
   */
  writeRangesAsync(ranges: Float64Array | readonly ByteRange[], src: ArrayBufferView, opts?: WriteRangesOptions): Promise<void> {
    try {
      checkOptions(opts);
      checkBooleans(opts, ['writeBack']);
      const bytes = bytesOf(src, 'src');
      const pairs = rangePairs(ranges, this.size);
      if (filledRanges(pairs, bytes.byteLength) < 0) throw outOfRangeError(`The ${bytes.byteLength} bytes of src must fill the leading ranges exactly`);
      checkReachable(bytes, false, 'src', this.path);
      return jobPromise(this.#native.writeAsync(pairs, bytes, opts?.writeBack !== false));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Blocks until no `persistAsync` or `writeAsync` job is in flight (their promises settle afterwards, as
   * usual): for a synchronous caller that must not race the write of a job. Returns at once on a closed
   * device.
   */
  waitJobs(): void {
    if (!this.closed) this.#native.waitJobs();
  }

  /** Copies the bytes of `src` (any TypedArray or DataView, by byteLength) into the device at `offset`. */
  copy(offset: number, src: ArrayBufferView, flags = 0): void {
    const bytes = bytesOf(src, 'src');
    checkRange(offset, bytes.byteLength, this.size);
    checkFlags(flags);
    checkReachable(bytes, false, 'src', this.path);
    try {
      this.#hot.copy(offset, bytes, flags);
    } catch (error) {
      throw this.#afterFault(error);
    }
  }

  /** Copies `length` device bytes from `srcOffset` to `dstOffset` (the ranges may overlap). */
  move(dstOffset: number, srcOffset: number, length: number, flags = 0): void {
    checkRange(dstOffset, length, this.size);
    checkRange(srcOffset, length, this.size);
    checkFlags(flags);
    try {
      this.#hot.move(dstOffset, srcOffset, length, flags);
    } catch (error) {
      throw this.#afterFault(error);
    }
  }

  /** Sets `length` bytes at `offset` to `value`. */
  fill(offset: number, value: number, length: number, flags = 0): void {
    checkByte(value);
    checkRange(offset, length, this.size);
    checkFlags(flags);
    try {
      this.#hot.fill(offset, value, length, flags);
    } catch (error) {
      throw this.#afterFault(error);
    }
  }

  /** Reads `target.byteLength` device bytes at `offset` into `target` (any TypedArray or DataView); poison is `EIO`. */
  copySafe(offset: number, target: ArrayBufferView): void {
    const bytes = bytesOf(target, 'target');
    checkRange(offset, bytes.byteLength, this.size);
    checkReachable(bytes, true, 'target', this.path);
    try {
      this.#hot.copySafe(offset, bytes);
    } catch (error) {
      // Poison we did not know of: the kernel's list has probably grown since we last read it.
      this.#bad = this.#readBadblocks();
      throw error;
    }
  }

  /** Reads `length` bytes at `offset` into a new buffer; poison is `EIO` with the failing offset. */
  readSafe(offset: number, length: number): Uint8Array {
    checkRange(offset, length, this.size);
    const out = new Uint8Array(length);
    this.copySafe(offset, out);
    return out;
  }

  /** Known poisoned ranges in device bytes, read anew from the kernel on every call. */
  badblocks(): ByteRange[] {
    this.#bad = this.#readBadblocks();
    return this.#bad.map((r) => ({ ...r }));
  }

  /**
   * Overwrites a page-aligned range with `data` (or zeros) by a recovery write, which clears poison on
   * fsdax, then checks the kernel's list. Device-dax has no such write: `ERR_PMEMDAX_CLEAR_UNSUPPORTED`.
   */
  clearBadblocks(offset: number, length: number, data?: ArrayBufferView): void {
    checkRange(offset, length, this.size);
    if (offset % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0) {
      throw errnoError('EINVAL', 'pwrite', { path: this.path, offset, length });
    }
    const bytes = optionalBytesOf(data, 'data');
    if (bytes !== undefined && bytes.byteLength !== length) {
      throw argTypeError(`The "data" argument must hold exactly "length" (${length}) bytes, received ${bytes.byteLength}`);
    }
    try {
      this.#native.clearBadblocks(offset, length, bytes);
    } finally {
      if (!this.#closed) this.#bad = this.#readBadblocks();
    }
  }

  /** Persists the range, then drains the platform's write queues where the region offers it. */
  deepFlush(offset: number, length: number): DeepFlushResult {
    checkRange(offset, length, this.size);
    return DEEP_FLUSH_RESULTS.get(this.#native.deepFlush(offset, length)) as DeepFlushResult;
  }

  /** Counters of the persistence work done so far (cache lines flushed, fences, msyncs). */
  stats(): DeviceStats {
    return this.#native.stats();
  }

  /**
   * Takes an advisory lock on the device (flock, without waiting): false when another open of it, in this
   * process or another, holds a conflicting one. The lock belongs to this open alone and is released by
   * `unlock`, `close`, or the process's end. Asking for the other mode while holding one replaces it, not
   * atomically (as flock does): after a `false` this open may hold no lock at all.
   */
  lock(mode: DeviceLockMode): boolean {
    if (mode !== 'exclusive' && mode !== 'shared') {
      throw argValueError(`The "mode" argument must be 'exclusive' or 'shared', received ${String(mode)}`);
    }
    return this.#native.lock(mode === 'exclusive');
  }

  /**
   * Removes the file this open created, as a failed create must: only while this open holds the exclusive
   * lock and the path still names the file (so never a file another open took over or put in its place).
   * Returns whether it was removed; the device stays open until `close`.
   */
  unlinkCreated(): boolean {
    if (this.#closed) return false;
    return this.#native.unlinkCreated();
  }

  /** Releases the lock `lock` took (nothing happens when none is held). */
  unlock(): void {
    this.#native.unlock();
  }

  /**
   * Takes (or, with 'none', drops) a byte-range lock on the device's file without waiting: an fcntl
   * open-file-description lock, held by this open alone (other opens in this process conflict with it too)
   * and released by `close` or the process's end, SIGKILL included. Independent of `lock`. The bytes need
   * not exist: a range far past the end names a lock, no data. False when another open holds a conflicting
   * lock on part of the range.
   */
  rangeLock(start: bigint, length: bigint, mode: DeviceLockMode | 'none'): boolean {
    checkLockRange(start, length);
    return this.#native.rangeLock(start, length, rangeMode(mode));
  }

  /** The first byte of one lock another open holds on [start, start+length) that a lock of `mode` would conflict with; null if none. */
  rangeConflict(start: bigint, length: bigint, mode: DeviceLockMode): bigint | null {
    checkLockRange(start, length);
    if (mode !== 'exclusive' && mode !== 'shared') throw argValueError(`The "mode" argument must be 'exclusive' or 'shared', received ${String(mode)}`);
    return this.#native.rangeConflict(start, length, rangeMode(mode));
  }

  /**
   * Unmaps the device and detaches every view handed out. Safe to call more than once. Blocks until the
   * msyncs of any `persistAsync` in flight have finished (their promises then resolve or reject as usual):
   * they use the mapping and the descriptor this unmaps and closes.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#windows.length = 0;
    this.#bad = [];
    this.#native.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The next buffer of window `index`: over the window, or after a grow, from where its newest buffer ends. */
  #openWindow(index: number): WindowPiece {
    const buffer = this.#native.window(index);
    // Pages mapped without PROT_WRITE: a library copy into them is refused (a raw store cannot be).
    if (!this.#writable) registerMapping(buffer, (_offset, _length, write) => !write);
    const pieces = (this.#windows[index] ??= []);
    const last = pieces[pieces.length - 1];
    const piece = { start: last === undefined ? index * this.#windowBytes : last.start + last.buffer.byteLength, buffer };
    pieces.push(piece);
    return piece;
  }

  /**
   * A store through the mapping met a SIGBUS (`EIO`: poison or a lost page; `ENOSPC`: a hole with no space
   * left): the poison list may have grown, so `directAccess` reads it again. Returns `error` to rethrow.
   */
  #afterFault(error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    if ((code === 'EIO' || code === 'ENOSPC') && !this.#closed) {
      try {
        this.#bad = this.#readBadblocks();
      } catch {
        // The store's error is the one to report; the list is read again on the next failure.
      }
    }
    return error;
  }

  #readBadblocks(): ByteRange[] {
    const pairs = this.#native.badblocks();
    const out: ByteRange[] = [];
    for (let i = 0; i < pairs.length; i += 2) out.push({ offset: pairs[i] as number, length: pairs[i + 1] as number });
    return out;
  }
}
