import { statSync, truncateSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Device, nativeDeviceOf, type DeviceOpenOptions } from '../device/device';
import { PmemdaxError, argTypeError, isErrnoError, outOfRangeError } from '../errors';
import { checkPool } from './check';
import { Claims, endOfflineChange, readersBeforeOfflineChange, type CommitPoint } from './claims';
import { treeBlocks } from './checkpoint';
import { PoolCore } from './core';
import type { PoolDevice } from './device';
import { corrupt, poolError } from './errors';
import { trackOpenPool, untrackPool } from './exit-hook';
import { PoolFile } from './file';
import { hasPool, loadPool, pickSuperblock, type Loaded } from './load';
import { backupPool } from './backup';
import { ON_THIS_THREAD, backupOnThread } from './backup-thread';
import { GrewUnderOpen, checkSnapshot, claimsOn, followJournal, grewPast, openSnapshot } from './reader';
import { formatPool, inspectMedia } from './make';
import { checkBackupOptions, checkCreateOptions, checkGrowArgs, checkGrowSize, checkOpenOptions, checkStaticCheckOptions, checkUpgradeOptions } from './options';
import { grownLayout, growTarget, loadForGrow, writeGrown } from './grow';
import { upgradePool } from './upgrade';
import { unsafeShutdownOf } from './unsafe-shutdown';
import { POOL_FILE_MODE, refuseVolatileDevdax } from './media';
import { checkBooleans, checkFunction, checkOptions, checkPath, received } from '../device/validate';
import { freeInode } from './free';
import { checkName, checkPrefix } from './names';
import { Listing } from './listing';
import type { JournalTouches } from './journal-touches';
import type { NameTable } from './name-table';
import { createFile, freeOrphans, renameFile, truncateFile, undoCreate, unlinkFile } from './namespace';
import { storesPending } from './store-job';
import { statOf, type PoolInode } from './inode';
import type { PoolState } from './state';
import { BLOCK, FILE_SIZE_MAX, FORMAT_VERSION, NAME_MAX, dataEnd, dataStart, uuidString } from './layout';
import { locateBadblocks } from './badblocks';
import type {
  BackupReport, CheckReport, PoolBackupOptions, PoolBadblock, PoolCreateOptions, PoolFileOpenOptions, PoolFormatOptions, PoolInfo, PoolMediaOptions, PoolMetadataRange, PoolOpenCreateOptions, PoolOpenOptions,
  PoolCheckOptions, PoolGrowOptions, PoolListOptions, PoolRecovery, PoolStat, PoolStatfs, PoolUpgradeOptions,
  PoolStats,
  PoolStatsOptions,
} from './types';

/** What a reader holds: its claims, the commit its state is at, and that state. */
interface ReaderSnapshot {
  readonly claims: Claims;
  point: CommitPoint;
  loaded: Loaded;
}

/** A snapshot a reader's refresh left behind while files opened on it are open: it closes with the last. */
interface KeptSnapshot {
  readonly core: PoolCore;
  readonly files: Set<PoolFile>;
}

/** Devices a writing pool uses: a reader over the same Device open could not be seen by it (claims.ts). */
const WRITING = new WeakSet<PoolDevice>();

/** What an attempt returns when it grew the file and must start again on it. */
const AGAIN = Symbol('again');
/** Pause between tries while another open holds the lock (`lockTimeout`). */
const LOCK_RETRY_MS = 10;
/** Atomics.wait on this is a synchronous sleep. */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/**
 * Pool -- a crash-consistent store of named files on a device (device-dax, an fsdax file, or an
 * ordinary file): the embedded filesystem behind the DAX layer. Metadata changes are journalled and
 * durable when the call that makes them returns (namespace operations, truncate, fallocate, remaps)
 * or at `fsync` (sizes and blocks of plain writes; at once for files opened `{ sync: true }`).
 * File data written with `write` is durable on return. See docs/format.md.
 */
export class Pool implements Disposable {
  readonly device: PoolDevice;
  #info: PoolInfo;
  #core: PoolCore;
  /** A reader's claim and what it loaded (read-only opens of a native device); null for a writer. */
  #reader: ReaderSnapshot | null = null;
  /** Snapshots a refresh left while files opened on them were still open. */
  readonly #kept: KeptSnapshot[] = [];
  /**
   * The inodes a reader has open and the point the first of their handles was opened at: each holds a claim
   * on it until its last handle closes (and with it its regions, which live as long as some handle does),
   * so that no block it maps is handed out again whatever the snapshot moves to (refresh).
   */
  readonly #inodeClaims = new Map<PoolInode, CommitPoint>();
  /** The device this pool opened from a path, and closes with itself. */
  readonly #owned: Device | null;
  readonly #files = new Set<PoolFile>();
  #closed = false;
  #closing: Promise<void> | null = null;

  private constructor(device: PoolDevice, loaded: Loaded, path: string, readonly: boolean, owned: Device | null, recovery: PoolRecovery) {
    this.device = device;
    this.#owned = owned;
    this.#core = new PoolCore(device, loaded.state, readonly, loaded.journal);
    const found = loaded.found;
    const unsafeShutdown = unsafeShutdownOf(device, found);
    const info = device.info;
    this.#info = {
      path,
      uuid: uuidString(found.uuid),
      formatVersion: FORMAT_VERSION,
      size: found.blocks * BLOCK,
      blockSize: BLOCK,
      journalBytes: found.journalBlocks * BLOCK,
      readonly,
      kind: info?.kind ?? 'memory',
      granularity: info?.granularity ?? 'memory',
      mapSync: info?.mapSync ?? false,
      unsafeShutdown,
      recovery,
    };
  }

  /**
   * Format `path` and open the new pool for writing. A missing file is created and sized; an existing
   * pool is `EEXIST` and other data `ERR_PMEMDAX_HAS_DATA` unless `force`. The exclusive lock is taken
   * before anything is read or sized, and a file is removed on failure only by the call that created it.
   */
  static create(path: string, opts: PoolCreateOptions = {}): Pool {
    checkPath(path);
    checkCreateOptions(opts);
    return Pool.#retrying(path, opts.lockTimeout, () => Pool.#createAttempt(path, opts));
  }

  /**
   * Open the pool at `path`: exclusive for writing, shared when `readonly`. With `create`, a pool is made
   * first when there is none yet (a missing, empty or blank file), under the same lock, so that racing
   * opens agree on one pool: a racer gets `ERR_PMEMDAX_POOL_LOCKED` (or waits, with `lockTimeout`).
   */
  static open(path: string, opts: PoolOpenOptions = {}): Pool {
    checkPath(path);
    checkOpenOptions(opts);
    const create = opts.create;
    const verify = opts.verify === true;
    if (create !== undefined) return Pool.#retrying(path, opts.lockTimeout, () => Pool.#openOrCreateAttempt(path, create, verify));
    const readonly = opts.readonly === true;
    return Pool.#retrying(path, opts.lockTimeout, () => {
      // A reader takes no flock: it claims a snapshot instead, beside a writer (reader.ts).
      const device = Pool.#lockedPool(path, readonly ? undefined : 'exclusive');
      return Pool.#grownAgain(() => Pool.#holding(device, () => {
        if (readonly) Pool.#notBeingMade(device, path);
        return Pool.#open(device, path, readonly, device, verify);
      }));
    });
  }

  /** `use`'s answer, or AGAIN when a writer's grow overtook a reader's mapping (the device is opened anew). */
  static #grownAgain<T>(use: () => Promise<T>): Promise<T | typeof AGAIN>;
  static #grownAgain<T>(use: () => T): T | typeof AGAIN;
  static #grownAgain<T>(use: () => T | Promise<T>): T | typeof AGAIN | Promise<T | typeof AGAIN> {
    const again = (e: unknown): typeof AGAIN => {
      if (e instanceof GrewUnderOpen) return AGAIN;
      throw e;
    };
    try {
      const result = use();
      return result instanceof Promise ? result.catch(again) : result;
    } catch (e) {
      return again(e);
    }
  }

  /**
   * Runs `attempt` until it gives a pool: again at once after it grew the file, again every 10 ms while
   * the lock is held elsewhere and `lockTimeout` has not passed.
   */
  static #retrying<T>(path: string, lockTimeout: number | undefined, attempt: () => T | typeof AGAIN): T {
    const deadline = Date.now() + (lockTimeout ?? 0);
    for (let grown = 0; ;) {
      try {
        const result = attempt();
        if (result !== AGAIN) return result as T;
        if (++grown > 10) throw Pool.#sizeUnsettled(path);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_PMEMDAX_POOL_LOCKED' || Date.now() >= deadline) throw e;
        Atomics.wait(SLEEPER, 0, 0, Math.min(LOCK_RETRY_MS, Math.max(1, deadline - Date.now())));
      }
    }
  }

  /**
   * Check the pool at `path` without opening it: `pool.check` in memory that does not grow with the files
   * (the pool's state is never loaded), of the state committed when it starts, beside a writer too (a
   * snapshot under a claim: reader.ts, checkSnapshot). A pool the check cannot read is a report with a
   * `load` problem, not an error; a path that holds no pool is refused as `Pool.open` refuses it.
   */
  static check(path: string, opts: PoolCheckOptions = {}): CheckReport {
    checkPath(path);
    checkStaticCheckOptions(opts);
    return Pool.#retrying(path, opts.lockTimeout, () => {
      // Beside a writer: a snapshot is checked (reader.ts), under a claim rather than a lock.
      const device = Pool.#lockedPool(path, undefined);
      try {
        Pool.#notBeingMade(device, path);
        if (!hasPool(device)) loadPool(device, path);
        const report = checkSnapshot(device, path, claimsOn(device, path), opts.progress);
        // A writer grew the file since it was mapped (a pool larger than its mapping, no damage): map it again.
        return !report.ok && grewPast(device, path, pickSuperblock(device, path).sb.blocks) ? AGAIN : report;
      } finally {
        device.close();
      }
    });
  }

  /**
   * A consistent copy of the pool at `path`, in the newest state committed when the backup's thread takes its
   * snapshot (shortly after the call, not at it: docs/api.md), into the new file
   * `dest` (never over an existing one): beside a writer too, from any process (backup.ts). The copy is a
   * pool (restore is opening it) with the source's identity, sparse where the source's blocks are free. The
   * writer is never waited for, and the caller's thread is not held: the work runs on the backups' worker
   * thread (backup-thread.ts). What a writer overwrites while the copy runs it copies on write, as for any reader
   * (docs/design.md, "Data written in place").
   */
  static async backup(path: string, dest: string, opts: PoolBackupOptions = {}): Promise<BackupReport> {
    checkPath(path);
    checkPath(dest, 'dest');
    checkBackupOptions(opts);
    if ((opts as { [ON_THIS_THREAD]?: true })[ON_THIS_THREAD] !== true) return backupOnThread(path, dest, opts.progress);
    for (let grown = 0; ;) {
      const device = Pool.#lockedPool(path, undefined);
      const result = await Pool.#grownAgain(async () => {
        Pool.#notBeingMade(device, path);
        if (!hasPool(device)) loadPool(device, path);
        return await backupPool(device, path, claimsOn(device, path), dest, opts);
      }).finally(() => device.close());
      if (result !== AGAIN) return result;
      if (++grown > 10) throw Pool.#sizeUnsettled(path);
    }
  }

  static #sizeUnsettled(path: string): PmemdaxError {
    return new PmemdaxError('ERR_PMEMDAX_SIZE', `'${path}' did not keep the size it was grown to`, { path });
  }

  /** `Pool.backup` of this pool's path: its newest commit, whether this open is its writer or a reader. */
  async backup(dest: string, opts: PoolBackupOptions = {}): Promise<BackupReport> {
    this.#notClosed();
    return Pool.backup(this.info.path, dest, opts);
  }

  /**
   * Grow the pool in the file at `path` to `size` bytes (rounded down to whole blocks): the file is
   * extended and the pool takes the new blocks as free space; its files stay as they are. The pool
   * must not be open (it takes the exclusive lock: ERR_PMEMDAX_POOL_LOCKED, or wait with `lockTimeout`).
   * A crash leaves the pool as it was or grown (docs/format.md, "Growing a pool"). A size below the
   * pool's is ERR_PMEMDAX_SIZE, the same size does nothing; device-dax cannot grow (ERR_PMEMDAX_SIZE).
   */
  static grow(path: string, size: number, opts: PoolGrowOptions = {}): void {
    checkPath(path);
    checkGrowArgs(size, opts);
    Pool.#retrying(path, opts.lockTimeout, () => {
      const held = Pool.#lockedDevice(path, { lock: 'exclusive' });
      try {
        if (readersBeforeOfflineChange(held)) throw Pool.#read(path, 'grow');
        const loaded = loadForGrow(held, path);
        const blocks = growTarget(held, path, loaded.found.blocks, size);
        if (blocks === 0) return undefined;
        // The file becomes exactly the grown pool, its last block the new backup's: cut back if it is longer
        // (a grow that crashed, another tool), extended (allocated) if shorter. The lock stays with `held`;
        // the grown file is mapped by a second, unlocked open.
        if (held.size > blocks * BLOCK) truncateSync(path, blocks * BLOCK);
        else if (held.size < blocks * BLOCK) Device.open(path, { size: blocks * BLOCK }).close();
        const device = Device.open(path);
        try {
          writeGrown(device, path, loaded, blocks);
        } finally {
          device.close();
        }
        return undefined;
      } finally {
        held.close();
      }
    });
  }

  /** `Pool.grow` on any device larger than its pool (a MemoryDevice in tests), not open: the pool takes the whole device. */
  static growOn(device: PoolDevice, opts: { path?: string } = {}): void {
    checkOptions(opts);
    const path = opts.path ?? '(device)';
    const loaded = loadForGrow(device, path);
    const blocks = growTarget(device, path, loaded.found.blocks, device.size);
    if (blocks > 0) writeGrown(device, path, loaded, blocks);
  }

  /**
   * Upgrade the pool in the file (or device-dax) at `path` from format version 1 to version 2 in place:
   * true when it did, false when the pool is version 2 already (nothing is written). The pool must not be
   * open (it takes the exclusive lock: ERR_PMEMDAX_POOL_LOCKED, or wait with `lockTimeout`). A crash
   * leaves the pool of version 1, which an upgrade completes, or of version 2 (docs/format.md, "Format
   * versions"). A damaged pool, or one found through its backup superblock, is ERR_PMEMDAX_CORRUPT; no
   * room for the new metadata is ENOSPC.
   */
  static upgrade(path: string, opts: PoolUpgradeOptions = {}): boolean {
    checkPath(path);
    checkUpgradeOptions(opts);
    return Pool.#retrying(path, opts.lockTimeout, () => {
      const device = Pool.#lockedDevice(path, { lock: 'exclusive' });
      try {
        if (readersBeforeOfflineChange(device)) throw Pool.#read(path, 'upgrade');
        return upgradePool(device, path);
      } finally {
        device.close();
      }
    });
  }

  /** `Pool.upgrade` on any device (a MemoryDevice in tests), not open. */
  static upgradeOn(device: PoolDevice, opts: { path?: string } = {}): boolean {
    checkOptions(opts);
    return upgradePool(device, opts.path ?? '(device)');
  }

  /** Device.open with its lock taken before sizing or mapping; a lock held elsewhere is ERR_PMEMDAX_POOL_LOCKED. */
  static #lockedDevice(path: string, options: DeviceOpenOptions): Device {
    try {
      return Device.open(path, options);
    } catch (e) {
      if (isErrnoError(e, 'EAGAIN') && e.syscall === 'flock') throw Pool.#locked(path);
      throw e;
    }
  }

  /** The device of an existing pool at `path`, read-only unless `lock` is exclusive, with that flock taken. */
  static #lockedPool(path: string, lock: 'shared' | 'exclusive' | undefined): Device {
    try {
      return Pool.#lockedDevice(path, { readonly: lock !== 'exclusive', ...(lock === undefined ? {} : { lock }) });
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_PMEMDAX_EMPTY') throw e;
      // A reader takes no flock, so it can find a pool being made still empty: the creator's exclusive lock
      // tells (ERR_PMEMDAX_POOL_LOCKED). Found free, the lock may not be taken yet (its creator between open(2)
      // and flock(2)): asked again for a few milliseconds before the file is called no pool.
      for (let again = 0; lock === undefined && again < 10; again++) {
        try {
          const probe = Pool.#lockedDevice(path, { readonly: true, lock: 'shared' });
          probe.unlock();
          return probe;
        } catch (e2) {
          if ((e2 as { code?: string }).code !== 'ERR_PMEMDAX_EMPTY') throw e2;
          Atomics.wait(SLEEPER, 0, 0, 1);
        }
      }
      // An empty file is not a pool; say so as for any other file without one.
      throw corrupt(path, 'superblock', 0, 'not a pmemdax pool (empty file)');
    }
  }

  /** Runs `use` on a locked device; on failure the device is closed, and removed if this call created it. */
  static #holding<T>(device: Device, use: () => T): T {
    try {
      return use();
    } catch (e) {
      device.unlinkCreated();
      device.close();
      throw e;
    }
  }

  static #createAttempt(path: string, opts: PoolCreateOptions): Pool | typeof AGAIN {
    const size = opts.size;
    let device: Device;
    try {
      device = Pool.#lockedDevice(path, {
        create: size !== undefined, lock: 'exclusive', growExisting: false, mode: opts.mode ?? POOL_FILE_MODE, ...(size !== undefined ? { size } : {}),
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (size === undefined && (code === 'ENOENT' || code === 'ERR_PMEMDAX_EMPTY')) {
        throw new PmemdaxError('ERR_PMEMDAX_SIZE', `creating pool '${path}' needs a size`, { path });
      }
      throw e;
    }
    return Pool.#holding(device, () => {
      const content = inspectMedia(device, path);
      if (content.kind === 'pool' && opts.force !== true) throw poolError('EEXIST', 'mkfs', path);
      const over = content.kind === 'pool';
      if (over && readersBeforeOfflineChange(device)) throw Pool.#read(path, 'a format');
      if (content.kind === 'data' && opts.force !== true) throw Pool.#hasData(path, content.what);
      try {
        return Pool.#formatHeld(device, path, size, opts);
      } finally {
        // Readers may open the new pool now (the lock taken above would keep them out until its first checkpoint).
        if (over && !device.closed) endOfflineChange(device);
      }
    });
  }

  static #openOrCreateAttempt(path: string, opts: PoolOpenCreateOptions, verify: boolean): Pool | typeof AGAIN {
    const device = Pool.#lockedDevice(path, { create: true, size: opts.size, lock: 'exclusive', growExisting: false, mode: opts.mode ?? POOL_FILE_MODE });
    return Pool.#holding(device, () => {
      // Anything but blank media goes to the ordinary open: a pool opens, anything else is not a pool.
      if (inspectMedia(device, path).kind !== 'blank') return Pool.#open(device, path, false, device, verify);
      return Pool.#formatHeld(device, path, opts.size, opts);
    });
  }

  /**
   * Format the locked device. An existing file smaller than `size` is first grown through a second open
   * (this one keeps the lock meanwhile), and the caller starts again on the grown file.
   */
  static #formatHeld(device: Device, path: string, size: number | undefined, opts: PoolFormatOptions & PoolMediaOptions): Pool | typeof AGAIN {
    refuseVolatileDevdax(device.info, path, opts.allowVolatile);
    if (size !== undefined && device.size < size && device.info.kind !== 'devdax') {
      Device.open(path, { size }).close();
      device.close();
      return AGAIN;
    }
    return Pool.#create(device, path, { ...opts, force: true }, device);
  }

  static #hasData(path: string, what: string): PmemdaxError {
    return new PmemdaxError('ERR_PMEMDAX_HAS_DATA', `'${path}' holds ${what} and no pmemdax pool; pass force to format over it`, { path });
  }

  /** Format a pool on any DaxDevice (a MemoryDevice in tests); the pool never closes the device. */
  static createOn(device: PoolDevice, opts: PoolCreateOptions & { path?: string } = {}): Pool {
    checkOptions(opts);
    return Pool.#create(device, opts.path ?? '(device)', opts, null);
  }

  static openOn(device: PoolDevice, opts: PoolOpenOptions & { path?: string } = {}): Pool {
    checkOptions(opts);
    checkBooleans(opts, ['readonly', 'verify']);
    return Pool.#open(device, opts.path ?? '(device)', opts.readonly === true, null, opts.verify === true);
  }

  /**
   * A reader takes no flock, but a file that holds no pool yet may be one being made: its maker holds the
   * exclusive flock, and the reader waits for it as any open did (ERR_PMEMDAX_POOL_LOCKED, `lockTimeout`).
   */
  static #notBeingMade(device: Device, path: string): void {
    if (hasPool(device)) return;
    if (!device.lock('shared')) throw Pool.#locked(path);
    device.unlock();
  }

  /** A change of the whole pool refused while readers hold snapshots of it. */
  static #read(path: string, change: string): PmemdaxError {
    return new PmemdaxError('ERR_PMEMDAX_POOL_LOCKED', `pool '${path}' is read by another open (a reader holds a snapshot); ${change} needs it alone`, { path });
  }

  static #locked(path: string): PmemdaxError {
    return new PmemdaxError('ERR_PMEMDAX_POOL_LOCKED', `pool '${path}' is in use by another open (it holds the lock)`, { path });
  }

  static #create(device: PoolDevice, path: string, opts: PoolCreateOptions, owned: Device | null): Pool {
    if (opts.force !== true && hasPool(device)) throw poolError('EEXIST', 'mkfs', path);
    formatPool(device, path, opts);
    return Pool.#open(device, path, false, owned);
  }

  static #open(device: PoolDevice, path: string, readonly: boolean, owned: Device | null, verify = false): Pool {
    const claims = readonly ? claimsOn(device, path) : null;
    // The writer's questions about claims cannot see its own open's locks: a reader and a writer need opens of their own.
    if ((claims !== null && WRITING.has(device)) || (!readonly && Claims.heldBy(device))) {
      throw new PmemdaxError('ERR_PMEMDAX_POOL_LOCKED', `pool '${path}': a reader and a writer cannot share one Device open; open the path again for the other`, { path });
    }
    if (claims !== null) {
      const snap = openSnapshot(device, path, claims, verify, false, true);
      const loaded = snap.loaded;
      try {
        const p = new Pool(device, loaded, path, true, owned, {
          replayed: loaded.replay.records, tornTail: loaded.replay.torn, usedBackupSuperblock: loaded.usedBackup, problems: loaded.problems, orphansFreed: 0,
        });
        p.#reader = { claims, point: snap.point, loaded };
        return p;
      } catch (e) {
        claims.drop(snap.point);
        throw e;
      }
    }
    const loaded = loadPool(device, path, { writable: !readonly, whole: verify, writer: !readonly, mediaClean: () => checkPool(device, path, null).ok });
    const pool = (recovery: PoolRecovery): Pool => {
      const p = new Pool(device, loaded, path, readonly, owned, recovery);
      if (!readonly) WRITING.add(device);
      return p;
    };
    const base = { replayed: loaded.replay.records, tornTail: loaded.replay.torn, usedBackupSuperblock: loaded.usedBackup, problems: loaded.problems };
    if (readonly) return pool({ ...base, orphansFreed: 0 });
    // A grow that crashed before its switch left the file longer than the pool: cut it back before anything
    // is written, so that its last block is the backup superblock again, where a load looks when the
    // primary is unreadable.
    const blocks = loaded.state.sb.blocks;
    if (owned !== null && owned.info.kind !== 'devdax' && device.size >= (blocks + 1) * BLOCK) truncateSync(path, blocks * BLOCK);
    const orphansFreed = freeOrphans(loaded.state);
    const p = pool({ ...base, orphansFreed });
    const core = p.#core;
    // Start from a clean journal after a crash: replay is then bounded and a torn tail is gone. On a
    // pool where no checkpoint fits, the journal is kept (and failing that, the orphans' frees stay
    // pending): the open still succeeds, so that files can be deleted.
    // A superblock without the counts an open after a clean close needs (an older release wrote it) gets them.
    const uncounted = loaded.found.metaBytes < 0;
    if (base.replayed > 0 || base.tornTail || orphansFreed > 0 || loaded.usedBackup || uncounted) {
      let folded = false;
      try {
        folded = core.settle(uncounted);
      } catch (e) {
        if (!isErrnoError(e, 'ENOSPC')) throw e;
      }
      // A kept journal continues over the torn record: clear what is left of it past the new tail.
      const j = core.journal;
      if (!folded && base.tornTail && j.tail < j.size) device.fill(j.offset + j.tail, 0, j.size - j.tail);
    }
    const now = unsafeShutdownOf(device, core.sb);
    core.writeSuperblocks({ ...core.sb, dirty: true, shutdownCount: now.count ?? -1, identity: now.identity ?? '' });
    // Other devices (the in-memory test device) end with their creator; a native one outlives the process.
    if (nativeDeviceOf(device) !== null) trackOpenPool(p);
    return p;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get info(): PoolInfo {
    return this.#info;
  }

  /**
   * Grow this pool, open for writing, to `size` bytes (rounded down to whole blocks): the device is made
   * longer first (a file extended and allocated, mapped on in the address space its open reserved), then
   * the pool takes the new blocks as free space, durable on return. Open files, their regions and views
   * keep working, and new writes may use the new blocks at once. A crash leaves the pool as it was (its
   * next open cuts the file back) or grown. The same size does nothing; a smaller one, device-dax, or a size
   * beyond what the device can reach (`device.info.maxSize`) is ERR_PMEMDAX_SIZE; a read-only pool EROFS.
   */
  grow(size: number): void {
    checkGrowSize(size);
    const core = this.#writable('grow');
    const path = this.#info.path;
    const blocks = growTarget(this.device, path, core.sb.blocks, size);
    if (blocks === 0) return;
    // ENOSPC before the device is touched.
    grownLayout(core.sb, blocks, path);
    const bytes = blocks * BLOCK;
    const device = this.device;
    if (device.size < bytes) {
      if (device.grow === undefined) {
        throw new PmemdaxError('ERR_PMEMDAX_SIZE', `pool '${path}' cannot grow to ${bytes} bytes: its device has ${device.size} and cannot grow`, { path });
      }
      device.grow(bytes);
    } else if (this.#owned !== null && statSync(path).size < bytes) {
      // The mapping is longer than the file: an open cut back a grow that crashed. The file must hold every block first.
      Device.open(path, { size: bytes }).close();
    }
    core.grow(blocks);
    this.#info = { ...this.#info, size: bytes };
  }

  #live(): PoolCore {
    this.#notClosed();
    // A reader whose refresh stopped part way through the records, and could take no new snapshot, holds a state
    // no commit made: it answers nothing until a refresh succeeds.
    const stuck = this.#refreshFailure;
    if (stuck !== null) {
      throw new PmemdaxError('ERR_PMEMDAX_REFRESH_FAILED', `reader of pool '${this.info.path}' is between two commits: records it took in (at its open or a refresh) failed to apply (${stuck.message}); refresh() again, or open the pool again`, { path: this.info.path, cause: stuck });
    }
    return this.#core;
  }

  #closedError(): PmemdaxError {
    return new PmemdaxError('ERR_PMEMDAX_CLOSED', `pool '${this.info.path}' is closed`, { path: this.info.path });
  }

  /** Not closed (or closing): for the calls that work on a reader whose refresh failed, which `#live` refuses. */
  #notClosed(): void {
    if (this.#closed || this.#core.closing) throw this.#closedError();
  }

  /** Why the last refresh left this reader between two commits (and no new snapshot could be taken), else null. */
  #refreshFailure: Error | null = null;

  /**
   * A reader's state at its commit: the records its refreshes found and kept (Journal.follow) applied first.
   * For the calls that read more than one file's state; a writer's is as it is.
   */
  #settled(): PoolCore {
    const core = this.#live();
    const r = this.#reader;
    if (r === null || r.loaded.journal.behind === 0) return core;
    this.#settle(r);
    return this.#live();
  }

  /**
   * Apply the records a reader kept, for a call that needs them. If that fails part way the reader is between
   * two commits until a refresh succeeds (the calls that read its state refuse, ERR_PMEMDAX_REFRESH_FAILED):
   * it moves to another commit only when it calls `refresh`.
   */
  #settle(r: ReaderSnapshot): void {
    try {
      r.loaded.journal.settle(r.loaded.state);
    } catch (e) {
      if (r.loaded.journal.outOfStep) this.#refreshFailure = e as Error;
      throw e;
    }
  }

  /**
   * The state to answer a call about `name` from. A reader's with records kept and not applied is the commit
   * after them for that name when they neither give it nor change the inode holding it (no inode is read to
   * tell); else they are applied first.
   */
  #stateFor(name: string): PoolState {
    const core = this.#live();
    const r = this.#reader;
    if (r === null || r.loaded.journal.behind === 0) return core.state;
    const touches = r.loaded.journal.touches;
    if (!touches.name(name)) {
      // A holder that cannot be told (a damaged entry) is taken as changed.
      const ino = core.state.names.holder(name);
      if (ino === 0 || (ino > 0 && !touches.inode(ino))) return core.state;
    }
    return this.#settled().state;
  }

  /**
   * Do the records a reader kept change a file open on its state (which reads its inode's state directly)?
   * Files kept on an older snapshot read that one's inodes, which the records do not change.
   */
  #openTouched(touches: JournalTouches): boolean {
    for (const file of this.#files) if (touches.inode(file.inode.ino) && !this.#kept.some((k) => k.files.has(file))) return true;
    return false;
  }

  /** The names, for a listing: it reads the names tree on the device, so a device closed under the pool ends it. */
  #names(): NameTable {
    const names = this.#settled().state.names;
    if (this.device.closed) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', `the device of pool '${this.info.path}' is closed`, { path: this.info.path });
    return names;
  }

  /** The core of a pool open for writing; EROFS (naming `name`, the file a call was about, when given) otherwise. */
  #writable(syscall: string, name?: string): PoolCore {
    const core = this.#live();
    if (core.readonly) throw poolError('EROFS', syscall, name === undefined ? this.info.path : `${this.info.path}:${name}`);
    return core;
  }

  /** Open (or with `create`, make) the file `name`. Creation and truncation are committed before it returns. */
  open(name: string, opts: PoolFileOpenOptions = {}): PoolFile {
    return this.#openFile(name, opts, true).file;
  }

  /**
   * `open` whose commit (of a creation or truncation) runs as the promise methods' do: off the thread at
   * page granularity, and shared with the other calls committing meanwhile (group commit).
   */
  async openAsync(name: string, opts: PoolFileOpenOptions = {}): Promise<PoolFile> {
    return this.#committing(this.#live(), () => {
      const { file, changed } = this.#openFile(name, opts, false);
      return { value: file, changed, undo: () => void file.close() };
    });
  }

  /** The change `make` makes, committed by a group commit; a call of the pool's, which `close()` waits for. */
  async #committing<T>(core: PoolCore, make: () => { value: T; changed: boolean; undo?: () => void }): Promise<T> {
    const leave = core.enterCall();
    try {
      const { value, changed, undo } = make();
      if (changed) {
        try {
          await core.commitAsync();
        } catch (e) {
          undo?.();
          throw e;
        }
      }
      const loop = core.pace();
      if (loop !== null) await loop;
      return value;
    } finally {
      leave();
    }
  }

  #openFile(name: string, opts: PoolFileOpenOptions, commitNow: boolean): { file: PoolFile; changed: boolean } {
    checkOptions(opts);
    checkBooleans(opts, ['create', 'exclusive', 'truncate', 'sync', 'readonly']);
    this.#live();
    checkName(name, 'open', this.info.path);
    let inode = this.#stateFor(name).names.get(name);
    const core = this.#live();
    const s = core.state;
    if (inode !== undefined && opts.create === true && opts.exclusive === true) throw poolError('EEXIST', 'open', `${this.info.path}:${name}`);
    const writing = opts.readonly !== true;
    if (writing || opts.create === true) this.#writable('open', name);
    let changed = false;
    if (inode === undefined) {
      if (opts.create !== true) throw poolError('ENOENT', 'open', `${this.info.path}:${name}`);
      inode = commitNow ? this.#createFile(core, name) : createFile(core.state, name);
      changed = true;
    } else if (opts.truncate === true && writing && (inode.size > 0 || inode.extents.length > 0)) {
      if (!inode.mapping.empty) throw poolError('EBUSY', 'open', inode.path);
      // Its blocks may still be written by a store job of a promise write (storeByJob): not freed under it.
      if (storesPending(inode)) throw poolError('EAGAIN', 'open', inode.path);
      truncateFile(s, inode);
      if (commitNow) core.commit();
      changed = true;
    }
    // A reader's file holds the blocks it maps across refreshes: its claim comes first, so that a lock that
    // cannot be taken (a system call's error) leaves no file behind.
    const reader = this.#reader;
    const claim = reader !== null && !this.#inodeClaims.has(inode) && reader.claims.claim(reader.point) ? reader.point : null;
    const file = new PoolFile(core, inode, { sync: opts.sync === true, readonly: !writing }, (f) => this.#closedFile(f));
    this.#files.add(file);
    inode.opens++;
    if (claim !== null) this.#inodeClaims.set(inode, claim);
    return { file, changed };
  }

  /**
   * A new inode named `name`, committed. ENOSPC before anything changes when inode numbers ran out
   * or its record would not leave room for the next checkpoint; a commit that fails takes it back.
   */
  #createFile(core: PoolCore, name: string): PoolInode {
    const epoch = core.sb.epoch;
    const inode = createFile(core.state, name);
    try {
      core.commit();
    } catch (e) {
      // Nothing became durable unless a checkpoint switched: then memory must not differ from the media.
      if (core.sb.epoch === epoch) undoCreate(core.state, inode);
      throw e;
    }
    return inode;
  }

  #closedFile(file: PoolFile): void {
    this.#files.delete(file);
    const inode = file.inode;
    inode.opens--;
    if (inode.opens === 0 && inode.name === null && !this.#core.readonly) {
      freeInode(this.#core.state, inode);
      this.#core.commit();
    }
    const point = inode.opens === 0 ? this.#inodeClaims.get(inode) : undefined;
    if (point !== undefined) {
      this.#inodeClaims.delete(inode);
      this.#reader?.claims.drop(point);
    }
    for (let i = this.#kept.length - 1; i >= 0; i--) {
      const kept = this.#kept[i] as KeptSnapshot;
      if (!kept.files.delete(file) || kept.files.size > 0) continue;
      this.#kept.splice(i, 1);
      kept.core.closed = true;
      kept.core.hold.close();
    }
  }

  /**
   * A reader moves to the newest committed state (docs/design.md, "Live readers"); a writer's pool, which
   * always is at its newest, and a pool no writer can open beside (a device without range locks) stay as
   * they are. Within the writer's epoch the journal records written since are taken in (microseconds for a
   * few): checked and kept, and applied when a call needs what they change (every answer is the new commit's);
   * after the writer checkpointed, a new snapshot is taken, as an open takes one. A file open across a
   * refresh follows it within an epoch (it reads its file's new state) and keeps the old snapshot across a
   * checkpoint (until it closes); either way its inode's claim, taken when its first handle opened, holds
   * every block it maps, so it never shows another file's bytes. A reader moves only when it calls this.
   */
  refresh(): void {
    this.#notClosed();
    const r = this.#reader;
    if (r === null) return;
    let next: CommitPoint | null;
    try {
      next = followJournal(this.device, this.info.path, r.claims, r.loaded, r.point);
    } catch (e) {
      // The records before one that could not be read are kept: files open on what they change follow them. The
      // refresh's own error is the one thrown (a failure of that applying shows at the calls that read the
      // state), unless the applying failed and a new snapshot replaced the state: the refresh then succeeded.
      try {
        this.#followOpenFiles(r);
      } catch {
        // Reported by the calls, as said.
      }
      if (this.#reader !== r) return;
      throw e;
    }
    if (next === null) {
      this.#retake(r, null);
      return;
    }
    r.point = next;
    this.#refreshFailure = null;
    this.#followOpenFiles(r);
  }

  /**
   * Files open on a reader read their inodes directly: kept records that change one are applied at the refresh.
   * If that fails part way, a new snapshot replaces the state, as when the records cannot be followed.
   */
  #followOpenFiles(r: ReaderSnapshot): void {
    const journal = r.loaded.journal;
    if (journal.behind === 0 || this.#files.size === 0 || !this.#openTouched(journal.touches)) return;
    try {
      journal.settle(r.loaded.state);
    } catch (e) {
      if (!journal.outOfStep) throw e;
      this.#retake(r, e as Error);
    }
  }

  /**
   * A new snapshot, for a refresh that cannot follow the journal (`failed`: because applying it failed). When
   * that fails too and the state is between two commits (records applied part way, now or by an earlier
   * refresh), the calls that read the state report the refresh's error (`failed`, else the newest).
   */
  #retake(r: ReaderSnapshot, failed: Error | null): void {
    try {
      this.#newSnapshot(r);
    } catch (e) {
      const error = failed ?? (e as Error);
      if (r.loaded.journal.outOfStep) this.#refreshFailure = error;
      throw error;
    }
  }

  /** A reader's refresh that cannot follow the journal: a snapshot of the newest state, as an open takes. */
  #newSnapshot(r: ReaderSnapshot): void {
    const snap = openSnapshot(this.device, this.info.path, r.claims, false, true, true);
    let core: PoolCore;
    try {
      core = new PoolCore(this.device, snap.loaded.state, true, snap.loaded.journal);
    } catch (e) {
      r.claims.drop(snap.point);
      throw e;
    }
    // From here nothing throws: the old point goes once, when the new one is the reader's.
    r.claims.drop(r.point);
    r.loaded.journal.handOver(snap.loaded.journal);
    this.#refreshFailure = null;
    const size = snap.loaded.found.blocks * BLOCK;
    if (size !== this.#info.size) this.#info = { ...this.#info, size };
    // The files of the snapshot left now: those of older ones are kept with theirs already.
    const old = { core: this.#core, files: new Set([...this.#files].filter((f) => !this.#kept.some((k) => k.files.has(f)))) };
    this.#core = core;
    this.#reader = { claims: r.claims, point: snap.point, loaded: snap.loaded };
    if (old.files.size > 0) this.#kept.push(old);
    else {
      old.core.closed = true;
      old.core.hold.close();
    }
  }

  exists(name: string): boolean {
    this.#live();
    return this.#stateFor(checkName(name, 'access', this.info.path)).names.has(name);
  }

  /** Atomically give `from` the name `to`, replacing any file called `to`. Durable on return. */
  rename(from: string, to: string): void {
    if (this.#rename(from, to)) this.#core.commit();
  }

  /** `rename`, committed by a group commit (see `openAsync`). */
  async renameAsync(from: string, to: string): Promise<void> {
    await this.#committing(this.#writable('rename'), () => ({ value: undefined, changed: this.#rename(from, to) }));
  }

  #rename(from: string, to: string): boolean {
    const core = this.#writable('rename');
    const s = core.state;
    checkName(from, 'rename', this.info.path);
    checkName(to, 'rename', this.info.path);
    const src = s.names.get(from);
    if (src === undefined) throw poolError('ENOENT', 'rename', `${this.info.path}:${from}`);
    if (from === to) return false;
    renameFile(s, src, from, to);
    return true;
  }

  /** Remove `name`. A file still open lives on, nameless, until its last handle closes. Durable on return. */
  unlink(name: string): void {
    this.#unlink(name);
    this.#core.commit();
  }

  /** `unlink`, committed by a group commit (see `openAsync`). */
  async unlinkAsync(name: string): Promise<void> {
    await this.#committing(this.#writable('unlink'), () => {
      this.#unlink(name);
      return { value: undefined, changed: true };
    });
  }

  #unlink(name: string): void {
    const core = this.#writable('unlink');
    checkName(name, 'unlink', this.info.path);
    const inode = core.state.names.get(name);
    if (inode === undefined) throw poolError('ENOENT', 'unlink', `${this.info.path}:${name}`);
    unlinkFile(core.state, inode);
  }

  /**
   * The names, lazily, in name order (UTF-8 bytes, which is code-point order): those starting with `prefix`,
   * after `after` (which need not exist), at most `limit` of them. The names are fetched a batch at a time,
   * each batch from where the last one ended, so the pool may change during the iteration: every name there
   * throughout is returned once, a name removed before the iteration reaches it is not returned, and a name
   * created meanwhile is returned at most once (as readdir does).
   * Arguments are checked at the call; a closed pool throws from the iteration's next step.
   */
  list(opts: PoolListOptions = {}): IterableIterator<string> {
    checkOptions(opts);
    const { prefix, after, limit } = opts as { prefix?: unknown; after?: unknown; limit?: unknown };
    const range: { prefix?: string; after?: string } = {};
    if (prefix !== undefined) range.prefix = checkPrefix(prefix, this.info.path);
    if (after !== undefined) range.after = checkPrefix(after, this.info.path, 'after');
    let left = Infinity;
    if (limit !== undefined) {
      if (typeof limit !== 'number') throw argTypeError(`The "limit" option must be of type number. ${received(limit)}`);
      if (!(limit >= 0 && (Number.isSafeInteger(limit) || limit === Infinity))) throw outOfRangeError(`The "limit" option must be a non-negative integer or Infinity. Received ${String(limit)}`);
      left = limit;
    }
    this.#live();
    return new Listing(range, left, () => this.#names(), (names, batchRange, want) => {
      const core = this.#settled();
      const t0 = core.hold.start();
      const batch = names.slice(batchRange, want);
      core.hold.stop(t0, 'list');
      return batch;
    });
  }

  stat(name: string): PoolStat {
    this.#live();
    const inode = this.#stateFor(checkName(name, 'stat', this.info.path)).names.get(name);
    if (inode === undefined) throw poolError('ENOENT', 'stat', `${this.info.path}:${name}`);
    return statOf(inode);
  }

  statfs(): PoolStatfs {
    const s = this.#settled().state;
    // Frees the readers let go of count as free (a writer asks for them in batches).
    s.alloc.reclaim();
    return {
      size: s.sb.blocks * BLOCK,
      blockSize: BLOCK,
      blocks: s.sb.blocks,
      freeBlocks: Math.max(0, s.alloc.free - s.alloc.keep),
      heldForReaders: s.alloc.waitingForReaders,
      dataBlocks: dataEnd(s.sb) - dataStart(s.sb),
      files: s.files,
      nameMax: NAME_MAX,
      fileSizeMax: FILE_SIZE_MAX,
    };
  }

  /**
   * Verify every invariant of the format, on the pool as it is on the media now. A reader checks the newest
   * committed state through its own open, as `Pool.check(path)` does: its snapshot may be one the media moved past.
   */
  check(opts: { progress?: (done: number, total: number) => void } = {}): CheckReport {
    checkOptions(opts);
    checkFunction(opts.progress, 'progress');
    // A reader's check walks the media under a claim of its own, not the reader's state: it answers after a failed refresh too.
    if (this.#reader !== null) {
      this.#notClosed();
      return checkSnapshot(this.device, this.info.path, this.#reader.claims, opts.progress, true);
    }
    const core = this.#live();
    return checkPool(this.device, this.info.path, core.state, opts.progress, this.info.unsafeShutdown);
  }

  /** Poisoned ranges of the device, and what each one hits. */
  badblocks(): PoolBadblock[] {
    return locateBadblocks(this.device, this.#settled().state);
  }

  /** Where the metadata lives (superblocks, journal, bitmap copies, tree pages), for tools and fuzzing. */
  metadataRanges(): PoolMetadataRange[] {
    const sb = this.#settled().state.sb;
    return [
      { area: 'primary superblock', offset: 0, length: BLOCK },
      { area: 'journal', offset: sb.journalStart * BLOCK, length: sb.journalBlocks * BLOCK },
      // The copy the checkpoint uses first.
      ...[sb.epoch & 1, 1 - (sb.epoch & 1)].map((copy) => ({ area: 'bitmap', offset: (sb.bitmapAt[copy] as number) * BLOCK, length: sb.bitmapBlocks * BLOCK })),
      ...bitRuns(treeBlocks(this.#settled().state)).map(([b, n]) => ({ area: 'tree', offset: b * BLOCK, length: n * BLOCK })),
      { area: 'backup superblock', offset: (sb.blocks - 1) * BLOCK, length: BLOCK },
    ];
  }

  /** Commit every pending metadata change. */
  sync(): void {
    const core = this.#live();
    if (!core.readonly) core.commit();
  }

  /**
   * Close the pool: calls made from now on throw ERR_PMEMDAX_CLOSED; calls already made run to the
   * end (as classic-level's close waits for its operations) and are in the final commit; then every
   * file closes, the journal folds into a checkpoint, and the pool is marked cleanly closed. When no
   * call is in flight all of that is done before `close` returns, so a caller may ignore the promise.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const core = this.#core;
    if (this.#closing === null) {
      core.closing = true;
      // A turn of the event loop after the calls end: their own promises have settled by then.
      this.#closing = core.busyCalls ? core.idle().then(() => nextTurn()).then(() => this.closeSync()) : settledBy(() => this.closeSync()).then(() => nextTurn());
      // A caller may ignore the promise: its failure (EIO) must not become an unhandled rejection. Awaited, it still rejects.
      this.#closing.catch(noop);
    }
    return this.#closing;
  }

  /**
   * Close now, without waiting: calls still in flight reject with ERR_PMEMDAX_CLOSED and change nothing
   * after it; those that resolved are in the final commit. What `[Symbol.dispose]` and the exit hook do.
   */
  closeSync(): void {
    if (this.#closed) return;
    const core = this.#core;
    // First: file calls still in flight then reject from here on instead of landing after the commit.
    core.closing = true;
    core.closed = true;
    try {
      // Inside the try: a last close that commits (an unlinked file) may fail, and the pool must close all the same.
      // Before the files' last closes, which may free blocks: no store may land after the state that freed them.
      if (!core.readonly && !this.device.closed) core.quiesce();
      for (const f of [...this.#files]) void f.close();
      if (!core.readonly && !this.device.closed) {
        // Frees an earlier writer held back for readers (still used in the media's bitmap) that this open
        // found free: a checkpoint says so, or the bitmap keeps them used and every writer's open loads whole.
        core.settle(core.sb.deferredBlocks > 0);
        core.writeSuperblocks({ ...core.sb, dirty: false });
        core.finalCommitted = true;
      }
    } finally {
      this.#closed = true;
      untrackPool(this);
      core.hold.close();
      core.inPlace?.close();
      if (!core.readonly) WRITING.delete(this.device);
      // Claims go with the device's open; a device this pool does not own stays open, so they are dropped.
      if (this.#reader !== null) {
        for (const point of this.#inodeClaims.values()) this.#reader.claims.drop(point);
        this.#inodeClaims.clear();
        this.#reader.claims.drop(this.#reader.point);
      }
      this.#owned?.close();
    }
  }

  /**
   * What the commits cost so far (group commit: `commits / commitRequests` per operation); after a close, the
   * totals at it. `{ reset: true }` starts a new window after answering.
   */
  stats(opts?: PoolStatsOptions): PoolStats {
    checkOptions(opts);
    checkBooleans(opts, ['reset']);
    return this.#core.stats(opts?.reset === true);
  }

  [Symbol.dispose](): void {
    this.closeSync();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function noop(): void {}


/** `fn`'s outcome as a settled promise. */
function settledBy(fn: () => void): Promise<void> {
  try {
    fn();
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(e);
  }
}

/** The runs of set bits of `bits`, as [first, count] pairs in order. */
function bitRuns(bits: Uint32Array): [number, number][] {
  const runs: [number, number][] = [];
  for (let w = 0; w < bits.length; w++) {
    if (bits[w] === 0) continue;
    for (let k = 0; k < 32; k++) {
      if (((bits[w] as number) & (1 << k)) === 0) continue;
      const b = w * 32 + k;
      const last = runs[runs.length - 1];
      if (last !== undefined && last[0] + last[1] === b) last[1]++;
      else runs.push([b, 1]);
    }
  }
  return runs;
}
