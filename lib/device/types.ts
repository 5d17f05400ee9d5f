/** What a path turned out to be when it was opened. */
export type DeviceKind = 'devdax' | 'fsdax' | 'file';

/**
 * The smallest unit that becomes durable by the means the device offers:
 * - `byte`: MAP_SYNC and the platform's persistence domain includes the CPU caches (a store fence suffices);
 * - `cacheline`: MAP_SYNC; cache lines must be written back (clwb/clflushopt/clflush) and fenced;
 * - `page`: no MAP_SYNC; stores become durable only through `msync`.
 */
export type Granularity = 'byte' | 'cacheline' | 'page';

/** How `flush` writes data back: a cache-line instruction, `msync`, or nothing (byte granularity). */
export type FlushMethod = 'clwb' | 'clflushopt' | 'clflush' | 'msync' | 'none';

/** The vector width of the non-temporal copy kernel picked for this CPU. */
export type CopyKernel = 'avx512' | 'avx2' | 'sse2';

export type DeepFlushResult = 'done' | 'not-needed' | 'not-permitted';

/**
 * Whether the memory behind the device keeps its data through a power loss: `persistent` (pmem, or a file
 * on a disk), `volatile` (RAM: tmpfs, ramfs, a device-dax over soft-reserved or CXL RAM), or `unknown`
 * (a device-dax whose sysfs ancestry names no known kind of memory).
 */
export type Persistence = 'persistent' | 'volatile' | 'unknown';

/** What sysfs says backs a device-dax: an nvdimm region, a CXL region by its mode, or dax_hmem. */
export type DaxBacking = 'nvdimm' | 'cxl-pmem' | 'cxl-ram' | 'hmem' | 'unknown';

export interface DeviceInfo {
  readonly path: string;
  readonly kind: DeviceKind;
  /** Usable bytes. */
  readonly size: number;
  /**
   * The largest size `grow` can give the device: the address space its open reserved (the `maxSize` open
   * option). `size` on device-dax and on a device opened read-only, which cannot grow.
   */
  readonly maxSize: number;
  /** Alignment of the mapping's start address (2 MiB, or the device-dax alignment when larger). */
  readonly alignment: number;
  /**
   * The smallest piece the source can be mapped in: the device-dax alignment (4 KiB, 2 MiB or 1 GiB), or
   * 4 KiB for files.
   */
  readonly deviceAlignment: number;
  /** True when the mapping was made with MAP_SHARED_VALIDATE|MAP_SYNC. */
  readonly mapSync: boolean;
  /** Why MAP_SYNC is not in use (`null` when it is). */
  readonly mapSyncReason: string | null;
  readonly granularity: Granularity;
  readonly flush: FlushMethod;
  readonly copyKernel: CopyKernel;
  /** Copies of at least this many bytes use non-temporal stores (unless told otherwise per call). */
  readonly movntThreshold: number;
  /** True when the bytes live on a pmem namespace (real or emulated), not in page cache over a disk. */
  readonly pmem: boolean;
  /**
   * True when the bytes live in RAM that a reboot or power loss clears: a file on tmpfs (`/dev/shm`) or
   * ramfs, or a device-dax over volatile memory (an nvdimm `nd_volatile` region, a CXL RAM region,
   * soft-reserved memory bound to dax_hmem). Persists there only reach that RAM (MAP_SYNC and cache
   * flushes included); the data outlives processes, not the machine.
   */
  readonly volatile: boolean;
  /** `volatile` exactly when `volatile` is true; `unknown` for a device-dax sysfs says nothing about. */
  readonly persistence: Persistence;
  /** What backs a device-dax (from its sysfs ancestry); `null` for files. */
  readonly daxBacking: DaxBacking | null;
  /** Block device under the file (`pmem0`, `vda`, …), or the dax device name; `null` if unknown. */
  readonly blockDevice: string | null;
  /** sysfs path of the nvdimm region, when on pmem. */
  readonly region: string | null;
  /** The region's `persistence_domain` (`cpu_cache`, `memory_controller`, …), when exposed. */
  readonly persistenceDomain: string | null;
  /** Whether the region has a `deep_flush` control. */
  readonly deepFlushAvailable: boolean;
  readonly numaNode: number | null;
  /** Sum of the region DIMMs' dirty-shutdown counts; `null` where the platform does not expose them. */
  readonly unsafeShutdownCount: number | null;
  /** Human-readable facts worth telling an operator (overrides in force, fallbacks taken). */
  readonly notes: readonly string[];
}

export interface OpenOptions {
  /** Create the file if it does not exist (ordinary and fsdax files only). Requires `size`. */
  readonly create?: boolean;
  /** Size in bytes for a created file, or to grow an existing smaller file to. */
  readonly size?: number;
  readonly readonly?: boolean;
  /**
   * Permission bits of a file this open creates (as fs.openSync's `mode`: the umask still applies).
   * Default 0o666. An existing file keeps its mode.
   */
  readonly mode?: number;
}

/** Options of `writeRangesAsync`. */
export interface WriteRangesOptions {
  /** Write the ranges back once stored, so they are durable when the promise resolves (default true). */
  readonly writeBack?: boolean;
}

export interface DirectAccessOptions {
  /** DAX_RECOVERY_WRITE mode: map over poison, one page at a time, for overwriting it. */
  readonly recovery?: boolean;
}

/** A window onto device pages: `view` covers `pages` whole pages starting at the requested pgoff. */
export interface DirectAccessResult {
  readonly view: Uint8Array;
  readonly pages: number;
}

/** A byte range of the device. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/**
 * Bits for `copy`, `move` and `fill`. Defined here rather than read from the addon because the memory
 * devices take them without it; the addon exports the same bits (`constants.copy`), and
 * test/device/constants.native.test.ts holds the two equal.
 */
export const CopyFlags = {
  /** Skip the final store fence (the caller will `drain`). */
  NODRAIN: 1,
  /** Skip cache write-back (the caller will `flush`/`persist`). Implies the data is not yet durable. */
  NOFLUSH: 2,
  /** Force non-temporal stores regardless of size. */
  NONTEMPORAL: 4,
  /** Force ordinary (cached) stores regardless of size. */
  TEMPORAL: 8,
} as const;

/**
 * The device surface the DAX layer depends on. The native `Device` implements it, and so does the
 * in-memory test device; nothing above `lib/device` may depend on more than this.
 */
export interface DaxDevice {
  readonly size: number;
  readonly closed: boolean;
  directAccess(pgoff: number, nrPages: number, options?: DirectAccessOptions): DirectAccessResult;
  /** What `directAccess` would return as `pages`, with the same errors, without making a view. */
  directAccessPages?(pgoff: number, nrPages: number, options?: DirectAccessOptions): number;
  flush(offset: number, length: number): void;
  drain(): void;
  persist(offset: number, length: number): void;
  /**
   * Persists many ranges (a Float64Array of [offset, length] pairs, or range objects) without blocking the
   * event loop where the write-back waits for a device; settles when all are durable. Optional: memory
   * devices have none.
   */
  persistAsync?(ranges: Float64Array | readonly ByteRange[]): Promise<void>;
  /** `copy` then persist, the write itself off the event loop too where it can wait for a device. Optional. */
  writeAsync?(offset: number, src: ArrayBufferView): Promise<void>;
  /**
   * `writeAsync` of the bytes of `src` laid out in order over the leading ranges, and every range made
   * durable, in one job; with `{ writeBack: false }` only stored (a later persist makes them durable).
   * Optional, with it.
   */
  writeRangesAsync?(ranges: Float64Array | readonly ByteRange[], src: ArrayBufferView, opts?: WriteRangesOptions): Promise<void>;
  /** Blocks until no `persistAsync` or `writeAsync` job is in flight. Optional, with them. */
  waitJobs?(): void;
  /** Copy `src` into the device at `offset`; durable on return unless NOFLUSH/NODRAIN say otherwise. */
  copy(offset: number, src: ArrayBufferView, flags?: number): void;
  fill(offset: number, value: number, length: number, flags?: number): void;
  /** Copy device bytes at `offset` into `target`, surviving poison: throws `EIO` (with `offset`) instead of SIGBUS. */
  copySafe(offset: number, target: ArrayBufferView): void;
  /** Known poisoned ranges, in device bytes, sorted; re-read on every call. */
  badblocks(): ByteRange[];
}
