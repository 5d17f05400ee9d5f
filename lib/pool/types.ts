import type { FiemapExtent } from '../iomap/fiemap';
import type { DeviceKind, Granularity } from '../device/types';

/** How long `Pool.create` and `Pool.open` keep trying while another open holds the pool's lock. */
export interface PoolLockOptions {
  /**
   * Milliseconds to keep retrying (every 10 ms, blocking the thread) while another open holds the lock;
   * then `ERR_PMEMDAX_POOL_LOCKED`. Default 0: fail at once.
   */
  readonly lockTimeout?: number;
}

/** How a new pool is laid out (`Pool.create`, and `Pool.open` with `create`). */
export interface PoolFormatOptions {
  /** Bytes of metadata journal (default: 1/64 of the pool, clamped to [64 KiB, 64 MiB]). */
  readonly journalBytes?: number;
  /** Called as formatting proceeds (zeroing the metadata areas of a large pool). */
  readonly progress?: (done: number, total: number) => void;
}

/** What only the making of a pool's file or device decides (`Pool.create`, `Pool.open` with `create`). */
export interface PoolMediaOptions {
  /**
   * Permission bits of a pool file this call creates (the umask still applies); an existing file keeps
   * its mode. Default 0o600: a pool holds one service's named files, readable by nobody else unless asked.
   */
  readonly mode?: number;
  /**
   * Format a device-dax that sysfs says is volatile memory (soft-reserved or CXL RAM, an nvdimm volatile
   * region): its pool is lost at power off. Without it that is `ERR_PMEMDAX_VOLATILE`.
   */
  readonly allowVolatile?: boolean;
}

/**
 * `Pool.create` on a path: a missing file is created and sized; an empty or blank existing file, or a
 * device-dax, is formatted at its size (an ordinary file smaller than `size` is grown first).
 */
export interface PoolCreateOptions extends PoolFormatOptions, PoolLockOptions, PoolMediaOptions {
  /** Pool bytes. Required for a missing or empty file; device-dax and other existing files keep their size. */
  readonly size?: number;
  /**
   * Format whatever is there: an existing pool (otherwise `EEXIST`) or other data (otherwise
   * `ERR_PMEMDAX_HAS_DATA`: a filesystem signature or non-zero bytes in the first 1 MiB).
   */
  readonly force?: boolean;
}

/** `Pool.grow(path, size, options)`. */
export type PoolGrowOptions = PoolLockOptions;

/** `Pool.upgrade(path, options)`. */
export type PoolUpgradeOptions = PoolLockOptions;

/** `Pool.open(path, { create })`: the pool to make when there is none yet. */
export interface PoolOpenCreateOptions extends PoolFormatOptions, PoolMediaOptions {
  /**
   * Bytes of a new pool file. A file that is missing, empty or blank (all zeros in its first 1 MiB, or a
   * format that never finished) is sized to it and formatted; an existing pool is opened at its own size.
   */
  readonly size: number;
}

interface PoolOpenCommonOptions extends PoolLockOptions {
  /**
   * Read every inode and audit the invariants that hold across files (each mapped block used, none mapped
   * twice without a reference count, none over metadata, names unique) before the open returns: O(files) in
   * time and heap (an open after a crash checks the media in constant memory instead, and loads whole only
   * when they do not check clean). An open after a clean close otherwise reads no inode (it trusts the
   * checksummed checkpoint its last writer audited; each inode is checked on its own when read). For a pool
   * restored from elsewhere or suspected of tampering; `Pool.check` verifies without opening.
   */
  readonly verify?: boolean;
}

/** `Pool.open(path, { readonly: true })`: a reader, beside a writer or not; it never creates a pool. */
export interface PoolOpenReadOptions extends PoolOpenCommonOptions {
  /** Open without writing anything; other read-only opens may share the pool, and one writer. */
  readonly readonly: true;
  readonly create?: undefined;
}

/** `Pool.open(path)` for writing, the pool made first with `create` when there is none. */
export interface PoolOpenWriteOptions extends PoolOpenCommonOptions {
  readonly readonly?: false | undefined;
  /**
   * Open-or-create: format a pool first when there is none at the path yet, under the same exclusive lock
   * that the open keeps, so that racing opens agree on one pool. Not with `readonly` (the types refuse it;
   * at run time it is ERR_INVALID_ARG_VALUE).
   */
  readonly create?: PoolOpenCreateOptions | undefined;
}

/** `Pool.open(path, options)`: a reader or a writer. */
export type PoolOpenOptions = PoolOpenReadOptions | PoolOpenWriteOptions;

/** `pool.open(name, …)`: the flags of open(2) that make sense for a flat name space. */
export interface PoolFileOpenOptions {
  /** O_CREAT. */
  readonly create?: boolean;
  /** O_EXCL (with `create`): EEXIST when the name exists. */
  readonly exclusive?: boolean;
  /** O_TRUNC: the file starts empty (durable on return). */
  readonly truncate?: boolean;
  /** O_SYNC: every call that changes the file's metadata (size, blocks) commits it before returning. */
  readonly sync?: boolean;
  /** O_RDONLY: writes fail with EBADF. */
  readonly readonly?: boolean;
}

/** What `pool.stat(name)` and `file.stat()` answer. */
export interface PoolStat {
  readonly name: string;
  readonly ino: number;
  /** i_size in bytes. */
  readonly size: number;
  /** Bytes of device blocks the file holds (shared blocks count in every file that holds them). */
  readonly allocated: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  /** Extents in the file's map (written, unwritten; holes not counted). */
  readonly extents: number;
}

/** Which names `pool.list` returns, in name order (UTF-8 bytes, which is code-point order). */
export interface PoolListOptions {
  /** Only names that start with it (the rules of a name; '' means every name). */
  readonly prefix?: string;
  /** Only names after it in name order; it need not be a name in the pool (the rules of a name; '' means from the start). */
  readonly after?: string;
  /** At most this many names: a non-negative integer, or Infinity (the default). */
  readonly limit?: number;
}

export interface PoolStatfs {
  readonly size: number;
  readonly blockSize: number;
  readonly blocks: number;
  readonly freeBlocks: number;
  /**
   * Blocks the writer freed that wait for readers: a reader's snapshot, or a file or region it keeps open,
   * may still reach them (0 in a reader, which frees nothing). They become free as readers refresh or close.
   */
  readonly heldForReaders: number;
  /** Data blocks (all but the superblocks and the journal). */
  readonly dataBlocks: number;
  readonly files: number;
  /** Longest name, in UTF-8 bytes. */
  readonly nameMax: number;
  /** Largest file size. */
  readonly fileSizeMax: number;
}

/** The unsafe-shutdown record and what opening found. */
export interface UnsafeShutdownState {
  /** The platform's dirty-shutdown count now (`null` where not exposed). */
  readonly count: number | null;
  /** The count recorded at the last clean close (`null` where not exposed). */
  readonly recorded: number | null;
  /** The pool was open for writing when the last process holding it stopped (no clean close). */
  readonly dirty: boolean;
  /** The count changed while the pool was closed: data that was not persisted may be lost. */
  readonly mismatch: boolean;
  /** Device identity now and recorded (region/namespace, or `null`). */
  readonly identity: string | null;
  readonly recordedIdentity: string | null;
}

export interface PoolInfo {
  readonly path: string;
  readonly uuid: string;
  readonly formatVersion: number;
  readonly size: number;
  readonly blockSize: number;
  readonly journalBytes: number;
  readonly readonly: boolean;
  readonly kind: DeviceKind | 'memory';
  readonly granularity: Granularity | 'memory';
  readonly mapSync: boolean;
  readonly unsafeShutdown: UnsafeShutdownState;
  /** What opening did to reach a consistent state. */
  readonly recovery: PoolRecovery;
}

export interface PoolRecovery {
  /** Journal records replayed. */
  readonly replayed: number;
  /** A torn record at the journal tail was discarded (a crash during a commit). */
  readonly tornTail: boolean;
  /** The primary superblock was bad and the copy was used (and rewritten). */
  readonly usedBackupSuperblock: boolean;
  /** Unlinked-while-open files whose blocks were freed. */
  readonly orphansFreed: number;
  /**
   * Damage the load found that leaves the pool readable but unsafe to write (a name held twice, a block
   * mapped but free, a reference count that disagrees, ...). Only a read-only open gets this far with
   * any: an open for writing is refused with ERR_PMEMDAX_CORRUPT naming the first.
   */
  readonly problems: readonly CheckProblem[];
}

/** One problem `check` found: `what` is the invariant, `where` the place (block, inode, offset). */
export interface CheckProblem {
  readonly what: string;
  readonly where: string;
  readonly message: string;
}

/** `Pool.check(path, options)`. */
export interface PoolCheckOptions extends PoolLockOptions {
  /** Called as the check goes through the files: `done` of `total`. */
  readonly progress?: (done: number, total: number) => void;
}

export interface PoolBackupOptions {
  /** Called as the copy is written: `done` of `total` bytes. */
  readonly progress?: (done: number, total: number) => void;
}

/** What a backup copied: the committed state it holds, as (checkpoint epoch, journal records of that epoch). */
export interface BackupReport {
  /** The copy's path (the `dest` given). */
  readonly path: string;
  /** Bytes written: the blocks the state uses and its metadata (the copy's file is sparse elsewhere). */
  readonly bytes: number;
  readonly epoch: number;
  readonly seq: number;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly problems: readonly CheckProblem[];
  /** Reported, never a problem by itself. */
  readonly unsafeShutdown: UnsafeShutdownState;
  readonly files: number;
  readonly blocksUsed: number;
}

/** `pool.stats(options)`. */
export interface PoolStatsOptions {
  /**
   * Start a new window after answering: the counters and the longest holds go back to zero, so the next
   * `stats()` reports only what happened after this call (a benchmark's measured phase, a monitoring interval).
   * The window is the pool's, one for all its callers; after `close()` a reset zeroes the totals at the close too.
   */
  readonly reset?: boolean;
}

/**
 * `pool.stats()`: what the commits cost since the pool opened (or since the last `stats({ reset: true })`).
 * With group commit, concurrent calls that each need a commit share records: `commits / commitRequests` is
 * the commits per operation.
 */
export interface PoolStats {
  /** Calls that asked for a commit: every promise method that commits (fsync, sync-handle writes, truncate, the *Async namespace calls, ...), and synchronous calls that had something to commit. */
  readonly commitRequests: number;
  /** Commits made: journal records plus checkpoints. */
  readonly commits: number;
  readonly records: number;
  readonly checkpoints: number;
  /** Jobs the promise methods ran off the JavaScript thread (msync batches, and batches of stores with their write-back, on the libuv pool); 0 where write-back is inline. */
  readonly flushes: number;
  /**
   * The longest the pool held the JavaScript thread in one piece, in milliseconds (wall time): a piece of a
   * promise method, or a checkpoint or a listing's batch made by any call (where synchronous calls take long).
   */
  readonly longestHoldMs: number;
  /**
   * With `PMEMDAX_HOLD_CLOCK=busy` (Linux): the longest piece less the time the kernel kept the thread
   * waiting for a CPU meanwhile (other threads ran), in milliseconds; null otherwise.
   */
  readonly longestHoldBusyMs: number | null;
  /**
   * The longest pieces (up to 128), longest first — by busy time with `PMEMDAX_HOLD_CLOCK=busy`, else by
   * wall time — each with what it was and when it started (`performance.now()`), to match against a trace.
   */
  readonly longestHolds: readonly HoldPiece[];
  /**
   * Inodes in memory now: those open, mapped or changed since the last checkpoint, and a cache of others read
   * from the trees (bounded: beyond 32,768, those nothing holds are dropped, earliest read first).
   */
  readonly inodesInMemory: number;
}

/** One piece the busy clock kept (`pool.stats().longestHolds`). */
export interface HoldPiece {
  /** What the piece was: `read`, `store`, `commit`, `checkpoint`, `list`, or the system call a method stands for (`ftruncate`, `fsync`, ...). */
  readonly what: string;
  /** When it started, on the `performance.now()` clock of the thread that ran it. */
  readonly startMs: number;
  readonly wallMs: number;
  /** With the busy clock; null without it. */
  readonly busyMs: number | null;
}

/** `file.fallocate(mode, offset, length)`, as fallocate(2)'s modes. */
export type FallocateMode = 'allocate' | 'keep-size' | 'punch-hole' | 'zero-range';

/** A device byte range holding pool metadata (`Pool.metadataRanges`). */
export interface PoolMetadataRange {
  /** `primary superblock`, `journal`, `bitmap` (the copy in force, then the other), `tree` (one range per run of tree pages) or `backup superblock`. */
  readonly area: string;
  readonly offset: number;
  readonly length: number;
}

/** Where a poisoned device range sits in the pool. */
export interface PoolBadblock {
  readonly offset: number;
  readonly length: number;
  /** `metadata` (area `superblock`, `journal`, `bitmap` or `tree`), `free`, or a file and the file offset. */
  readonly owner: { readonly kind: 'metadata'; readonly area: string } | { readonly kind: 'free' } |
    { readonly kind: 'file'; readonly name: string; readonly fileOffset: number };
}

export type { FiemapExtent };
