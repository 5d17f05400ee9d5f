// The one place that loads the addon. Everything else imports the typed surface from here.
import { join } from 'node:path';
import bindings from 'bindings';
import { PmemdaxError, PmemdaxRangeError, PmemdaxTypeError } from './errors';
import type { CopyKernel, DeviceInfo } from './device/types';

export interface NativeCpuInfo {
  readonly clflush: boolean;
  readonly clflushopt: boolean;
  readonly clwb: boolean;
  readonly avx2: boolean;
  readonly avx512f: boolean;
  /** The crc32 instruction (SSE4.2). */
  readonly sse42: boolean;
  /** The flush instruction a device opened now would use (after PMEMDAX_NO_* overrides). */
  readonly flush: 'clwb' | 'clflushopt' | 'clflush';
  readonly copyKernel: CopyKernel;
  /** The CRC-32C variant of the metadata checksums, chosen when the addon loaded (PMEMDAX_NO_SSE42 then). */
  readonly crc32c: 'sse4.2' | 'table';
}

/** The native form of DeviceInfo: `movntThreshold` is -1 when non-temporal stores are disabled. */
export interface NativeDeviceInfo extends Omit<DeviceInfo, 'movntThreshold' | 'notes' | 'persistence' | 'daxBacking'> {
  readonly movntThreshold: number;
  /** The character device's number (device-dax; 0 for files), for classifying its memory from sysfs. */
  readonly devMajor: number;
  readonly devMinor: number;
  readonly notes: string[];
  readonly windowBytes: number;
  readonly writable: boolean;
  /** This open created the file (and has not removed it since). */
  readonly created: boolean;
}

export interface NativeStats {
  readonly flushedLines: number;
  readonly flushCalls: number;
  readonly drains: number;
  readonly msyncs: number;
  /** persistAsync calls whose msyncs ran on the thread pool (page granularity). */
  readonly asyncPersists: number;
}

/**
 * The per-record calls, as plain functions bound to one native device (no receiver lookup on each call).
 * They take validated arguments; they re-check bounds but not types. Keep them private to the Device that
 * made them: they must not outlive its native handle.
 */
export interface NativeHotPath {
  flush(offset: number, length: number): void;
  drain(): void;
  persist(offset: number, length: number): void;
  persistRanges(pairs: Float64Array): void;
  copy(offset: number, src: ArrayBufferView, flags: number): void;
  move(dst: number, src: number, length: number, flags: number): void;
  fill(offset: number, value: number, length: number, flags: number): void;
  copySafe(offset: number, target: ArrayBufferView): void;
}

/** A native device as the shared hot functions take it (an External; opaque to TypeScript). */
export type NativeHotHandle = { readonly __nativeHotHandle: unique symbol };

/** The hot functions, made once per environment: each takes a device's handle first (see lib/device/hot-path.ts). */
export interface NativeSharedHotPath {
  flush(handle: NativeHotHandle, offset: number, length: number): void;
  drain(handle: NativeHotHandle): void;
  persist(handle: NativeHotHandle, offset: number, length: number): void;
  persistRanges(handle: NativeHotHandle, pairs: Float64Array): void;
  copy(handle: NativeHotHandle, offset: number, src: ArrayBufferView, flags: number): void;
  move(handle: NativeHotHandle, dst: number, src: number, length: number, flags: number): void;
  fill(handle: NativeHotHandle, offset: number, value: number, length: number, flags: number): void;
  copySafe(handle: NativeHotHandle, offset: number, target: ArrayBufferView): void;
  /**
   * A lookup of `key` in the pool's metadata tree whose root page is at `offset`, where the pages lie
   * (native/tree_search.h): the value's length (the value copied into `value`), -1 for no such key, -2 when the
   * pages cannot say. `visited` gets the count of pages visited, then their blocks.
   */
  treeSearch(handle: NativeHotHandle, offset: number, key: Uint8Array, value: Uint8Array, visited: Uint32Array): number;
  /**
   * The keys of that tree from `start` on (past it with `skipStart`) that begin with `prefix`, at most `limit`,
   * into `out` as a u16 length and the bytes each: their count times two, plus one when the range holds no key
   * after them; -2 when the pages cannot say. `visited` gets the count of pages visited, then their blocks.
   * With `names`, the keys are also set there as strings, and a key that is not a pool name makes it -2.
   */
  treeScan(
    handle: NativeHotHandle, offset: number, start: Uint8Array, prefix: Uint8Array, skipStart: boolean, limit: number, out: Uint8Array,
    visited: Uint32Array, names?: string[],
  ): number;
  /** Is the tree page at `offset` as a checkpoint wrote it (CRC, kind, cells inside it)? False for a SIGBUS too. */
  treeCheck(handle: NativeHotHandle, offset: number): boolean;
}

export interface NativeDevice {
  info(): NativeDeviceInfo;
  hot(): NativeHotHandle;
  window(index: number): ArrayBuffer;
  badblocks(): Float64Array;
  clearBadblocks(offset: number, length: number, data: ArrayBufferView | undefined): void;
  /** One of `constants.deepFlush`. */
  deepFlush(offset: number, length: number): number;
  stats(): NativeStats;
  /** flock(LOCK_EX or LOCK_SH, non-blocking) on the device's descriptor: false when a conflicting lock is held. */
  lock(exclusive: boolean): boolean;
  unlock(): void;
  /** fcntl F_OFD_SETLK on [start, start+length), non-blocking; mode one of `constants.lock` (NONE unlocks): false on a conflict. */
  rangeLock(start: bigint, length: bigint, mode: number): boolean;
  /** fcntl F_OFD_GETLK: the first byte of one conflicting lock another open holds, or null. */
  rangeConflict(start: bigint, length: bigint, mode: number): bigint | null;
  /**
   * A pool writer took its in-place lock (slots[0], in-place-gate.ts): a thread of the device watches it from
   * now, and lets the lock go once a reader claims and the writer's in-place stores are made
   * (native/in_place_watch.h). The first call starts the thread; later ones wake it. The thread says in slot
   * BARRIER when it makes the barrier the writer's store to slot WRITING needs (membarrier): that store then
   * needs no fence. Throws (EAGAIN, `pthread_create`) when no thread can be had.
   */
  watchInPlace(slots: Int32Array, lockAt: bigint, claimsStart: bigint, claimsLength: bigint): void;
  /** Ends the watch's thread (close does too). */
  unwatchInPlace(): void;
  /** Unlinks the path if this open created the file, holds it exclusively, and the path still names it. */
  unlinkCreated(): boolean;
  /**
   * persistRanges with the msyncs on the libuv thread pool: a promise at page granularity, undefined when
   * the work was done inline (no range, or byte/cacheline granularity), null when no job was queued because
   * the environment is stopping (a worker being terminated). Throws what persistRanges throws.
   */
  persistAsync(pairs: Float64Array): Promise<void> | undefined | null;
  /**
   * The bytes laid out in order over [offset, length] pairs (their lengths add up to its length), made durable
   * unless `writeBack` is false: pwrite and msync on the thread pool at page granularity; undefined when done inline,
   * null as for persistAsync.
   */
  writeAsync(pairs: Float64Array, bytes: Uint8Array, writeBack?: boolean): Promise<void> | undefined | null;
  /** Blocks until no persistAsync or writeAsync job is in flight. */
  waitJobs(): void;
  /** Extends the file to `size` bytes (allocated) and maps the new part after the old, at the same address. */
  grow(size: number): void;
  /** Waits for persistAsync jobs in flight, then unmaps. */
  close(): void;
}

/**
 * The numbers the native calls take and return, as the addon exports them (native/constants.cpp): read
 * from there, never repeated here, so the two sides cannot disagree.
 */
export interface NativeConstants {
  /** Page access of a region range: none, read, read-write, or read-only until a logged first store (shared or private). */
  readonly access: {
    readonly NONE: number;
    readonly READ: number;
    readonly READ_WRITE: number;
    readonly TRAP_WRITE: number;
    readonly PRIVATE_TRAP_WRITE: number;
  };
  /** The flag bits of copy, move and fill (CopyFlags). */
  readonly copy: { readonly NODRAIN: number; readonly NOFLUSH: number; readonly NONTEMPORAL: number; readonly TEMPORAL: number };
  /** What deepFlush answers. */
  readonly deepFlush: { readonly DONE: number; readonly NOT_NEEDED: number; readonly NOT_PERMITTED: number };
  /** The lock a native open takes before sizing or mapping: none, flock LOCK_SH, flock LOCK_EX. */
  readonly lock: { readonly NONE: number; readonly SHARED: number; readonly EXCLUSIVE: number };
  /**
   * The in-place tree reads (native/tree_search.h): their "cannot say" answer, the most pages a scan visits in a
   * call, and the longest name the names scan makes a string of (the pool's NAME_MAX).
   */
  readonly tree: { readonly CANNOT_SAY: number; readonly SCAN_PAGES: number; readonly NAME_MAX: number };
}

/** Reserved address space for the fault layer. Offsets and lengths are whole pages; `access` is one of `constants.access`. */
export interface NativeRegion {
  buffer(): ArrayBuffer;
  mapDevice(offset: number, device: NativeDevice, deviceOffset: number, length: number, access: number): void;
  mapZero(offset: number, length: number): void;
  mapAnon(offset: number, length: number): void;
  protect(offset: number, length: number, access: number): void;
  release(offset: number, length: number): void;
  /** Region page indices stored to through armed pages since the last harvest. */
  harvest(): Float64Array;
  stats(): { readonly writeTraps: number; readonly inserts: number };
  unmap(): void;
}

export interface NativeBinding {
  NativeDevice: { readonly hotPath: NativeSharedHotPath } & (new (
    path: string, create: boolean, size: number, readonly: boolean, windowBytes: number, lock: number, growExisting: boolean,
    mode: number, maxSize: number,
  ) => NativeDevice);
  NativeRegion: new (length: number, alignment: number, trapGranule: number) => NativeRegion;
  cpuInfo(): NativeCpuInfo;
  /** CRC-32C of `bytes[start, end)` (integers inside the bytes, else a TypeError or RangeError). */
  crc32c(bytes: Uint8Array, start: number, end: number): number;
  /**
   * The whole journal records of epoch `epoch` from byte `at` of `bytes` on, numbered from `seq`, within its
   * first `avail` bytes: for the k-th, `out[2k]` = where its operations end, `out[2k + 1]` = their count.
   * Returns how many; stops at the first that is not whole or not wholly read, or when `out` is full.
   * (Absent from an addon built before it: the caller checks records one at a time then.)
   */
  journalScan?(bytes: Uint8Array, at: number, avail: number, epoch: number, seq: number, out: Float64Array): number;
  /**
   * What the `n` whole records from journal offset `at` change, `bytes` holding the journal from offset `base`
   * on (record k's operations end at offset `ends[first + 2k]` and number `ends[first + 2k + 1]`): `out[0]` inode numbers from `out[3]` on, `out[1]` name hashes (the top 30 bits
   * of FNV-1a of the name's bytes) from the end of `out` backwards, `out[2]` flags (1: a reference count changed). Returns 0, or
   * -1 when `out` is too small or an operation cannot be read. (Absent from an addon built before it.)
   */
  journalTouches?(bytes: Uint8Array, base: number, at: number, ends: Float64Array, first: number, n: number, out: Uint32Array): number;
  /** Hands native code the classes its errors are made from (`new C(code, message)`); called once at load. */
  setErrorClasses(error: typeof PmemdaxError, type: typeof PmemdaxTypeError, range: typeof PmemdaxRangeError): void;
  readonly constants: NativeConstants;
}

/** Where the addon is looked for, in order; `bindings` resolves each entry's names against these options. */
interface AddonSearch {
  readonly module_root: string;
  readonly try: readonly (readonly string[])[];
}

// A build from source (build/Release) wins over the prebuilt addon the package ships, so that
// `npm rebuild pmemdax` is the remedy whenever the prebuild does not fit. PMEMDAX_ADDON_DIR selects
// another build alone (the sanitizer build, for one).
function addonSearch(): AddonSearch {
  const addonDir = process.env.PMEMDAX_ADDON_DIR;
  if (addonDir !== undefined && addonDir !== '') return { module_root: addonDir, try: [['module_root', 'bindings']] };
  return {
    module_root: join(__dirname, '..'),
    try: [
      ['module_root', 'build', 'Release', 'bindings'],
      ['module_root', 'prebuilds', `${process.platform}-${process.arch}-glibc`, 'bindings'],
    ],
  };
}

function loadAddon(): NativeBinding {
  const search = addonSearch();
  try {
    const binding = bindings({ bindings: 'pmemdax.node', ...search }) as NativeBinding;
    binding.setErrorClasses(PmemdaxError, PmemdaxTypeError, PmemdaxRangeError);
    return binding;
  } catch (cause) {
    const found = !/could not locate the bindings file/i.test((cause as Error).message);
    const what = found
      ? `the pmemdax native addon did not load: ${(cause as Error).message.split('\n')[0]}`
      : `the pmemdax native addon is not built for ${process.platform}-${process.arch} here`;
    const remedy = process.env.PMEMDAX_ADDON_DIR
      ? `(PMEMDAX_ADDON_DIR=${process.env.PMEMDAX_ADDON_DIR})`
      : 'Run `npm rebuild pmemdax` to build it from source (it needs a C++ compiler, make and python3; npm 11 runs it only once its install script is allowed: `npm install-scripts approve pmemdax`)';
    throw new PmemdaxError('ERR_PMEMDAX_ADDON', `${what}. ${remedy}`, { cause });
  }
}

export const native: NativeBinding = loadAddon();
