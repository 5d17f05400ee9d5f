import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { errnoError, isErrnoError } from '../errors';
import { abandonCheckpoint, finishCheckpoint, writeCheckpoint } from './checkpoint';
import type { PoolDevice } from './device';
import { Claims } from './claims';
import { DeferredFlush, defersFlush } from './deferred-flush';
import { HoldClock } from './hold-clock';
import { InPlaceGate } from './in-place-gate';
import { Journal } from './journal';
import { grownLayout } from './grow';
import { BLOCK, dataEnd, decodeSuperblock, encodeSuperblock, isSuperblock, type Superblock } from './layout';
import { readMeta } from './meta-io';
import { PoolOps } from './ops';
import type { PoolState } from './state';
import type { PoolStats } from './types';

/** The longest a run of promise methods that never wait may hold the thread before one waits for a turn of the event loop. */
const PACE_MS = 0.5;

/** What a call stores through: the device and the iomap operations over it. */
export interface PoolIo {
  readonly device: PoolDevice;
  readonly ops: PoolOps;
}

/** A journal record written by a group commit whose write-back has not been seen to finish. */
interface Flight {
  /** Offset in the journal area, and the record (a copy: the journal's buffer is reused). */
  readonly at: number;
  readonly bytes: Uint8Array;
  /** The record's write has been handed to a job (only after every store it maps is durable). */
  written: boolean;
  /** The record is durable, by this flight or by a synchronous commit that took it over. */
  settled: boolean;
}

/**
 * PoolCore -- the write side of a loaded pool: commits (a journal record, or a checkpoint when the
 * journal is full), checkpoints, and superblock updates, with the persist ordering the format
 * needs. Every write here is a `device.copy`, durable when it returns.
 */
export class PoolCore {
  readonly device: PoolDevice;
  readonly state: PoolState;
  readonly journal: Journal;
  readonly ops: PoolOps;
  readonly readonly: boolean;
  /** Stores durable on return: the synchronous methods, regions and the metadata. */
  readonly io: PoolIo;
  /** What the promise methods store through: write-back deferred to `durable()` at page granularity, else `io`. */
  readonly asyncIo: PoolIo;
  /** Set by `close()`: new calls are refused, those made before it run to the end. */
  closing = false;
  /** Set when the pool closes for good: file calls still in flight then must change nothing more (PoolFile). */
  closed = false;
  /** Set once a closeSync's final commit is durable: what calls did before it is in it. */
  finalCommitted = false;
  /** Promise-method calls not yet settled, and who waits for there to be none. */
  #calls = 0;
  #idle: (() => void)[] = [];
  readonly #deferred: DeferredFlush | null;
  /** Readers' claims on this pool (null: read-only, or a device no other open can read beside this one). */
  readonly #claims: Claims | null;
  /** A writer's overwrites of committed blocks beside readers: in place or copied (in-place-gate.ts). */
  readonly inPlace: InPlaceGate | null;
  #flight: Flight | null = null;
  /** The group commit running, and the one gathering behind it. */
  #running: Promise<void> | null = null;
  #queued: Promise<void> | null = null;
  /** The inline group commit waiting for the end of this turn of the event loop. */
  #nextTurn: Promise<void> | null = null;
  /** `pace`: when the current run without a turn of the event loop began, and whether a turn is awaited. */
  #turnStart = 0;
  #turnArmed = false;
  /** A commit that failed part-way: memory is ahead of the media, and nothing more may commit. */
  #failed: unknown = null;
  readonly #stats = { commitRequests: 0, records: 0, checkpoints: 0 };
  /** Write-back jobs counted before the last reset of the stats. */
  #flushesBefore = 0;
  /** Times the pieces of promise methods that hold the thread. */
  readonly hold = new HoldClock();

  constructor(device: PoolDevice, state: PoolState, readonly: boolean, journal: Journal) {
    this.device = device;
    this.state = state;
    this.readonly = readonly;
    this.journal = journal;
    this.ops = new PoolOps(device, state);
    this.io = { device, ops: this.ops };
    this.#deferred = !readonly && defersFlush(device) ? new DeferredFlush(device) : null;
    this.asyncIo = this.#deferred === null ? this.io : { device: this.#deferred, ops: new PoolOps(this.#deferred, state) };
    this.#claims = readonly ? null : Claims.of(device, state.sb.journalBlocks);
    this.#claims?.announceWriter();
    this.inPlace = this.#claims === null ? null : new InPlaceGate(this.#claims, state.alloc, this.#deferred);
  }

  /**
   * Write a checkpoint and switch to it (`write`), knowing whether readers hold snapshots: while any does,
   * what the checkpoint frees stays used in its bitmap (alloc.ts, `holdBack`), so that a writer after a crash
   * cannot hand it out under them. The checkpoint lock, held from the question to the switch, makes a reader
   * that claims meanwhile claim again (claims.ts).
   */
  #forReaders<T>(write: () => T): T {
    const claims = this.#claims;
    if (claims === null) return write();
    const a = this.state.alloc;
    claims.checkpointing(true);
    try {
      a.holdBack = claims.anyBefore();
      return write();
    } finally {
      a.holdBack = false;
      claims.checkpointing(false);
    }
  }

  /** Where promise writes hand their stores to jobs (page granularity, a device that writes ranges off the thread); else null. */
  get storeJobs(): DeferredFlush | null {
    return this.#deferred?.storesByJob === true ? this.#deferred : null;
  }

  get sb(): Superblock {
    return this.state.sb;
  }

  /** A promise-method call starts; the returned function is called once when it settles. */
  enterCall(): () => void {
    this.#calls++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.#calls === 0) for (const wake of this.#idle.splice(0)) wake();
    };
  }

  /** A group commit's record is not yet known durable. */
  get committing(): boolean {
    return this.#flight !== null && !this.#flight.settled;
  }

  get busyCalls(): boolean {
    return this.#calls > 0;
  }

  /** Settles once no promise-method call is in flight (each settles only once durable). */
  async idle(): Promise<void> {
    while (this.#calls > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** With `reset`, a new window starts after the answer: counters and longest holds from zero. */
  stats(reset = false): PoolStats {
    const s = this.#stats;
    const flushes = this.#deferred?.jobs ?? 0;
    const answer = {
      ...s,
      commits: s.records + s.checkpoints,
      flushes: flushes - this.#flushesBefore,
      longestHoldMs: this.hold.longestMs,
      longestHoldBusyMs: this.hold.longestBusyMs,
      longestHolds: this.hold.longestPieces,
      inodesInMemory: this.state.inodes.size,
    };
    if (reset) {
      s.commitRequests = s.records = s.checkpoints = 0;
      this.#flushesBefore = flushes;
      this.hold.reset();
    }
    return answer;
  }

  #healthy(): void {
    // A failed write-back of deferred stores too: a record now could map blocks whose bytes never reached the media.
    const failed = this.#failed ?? this.#deferred?.failure ?? null;
    if (failed === null) return;
    const why = failed instanceof Error ? failed.message : String(failed);
    throw errnoError('EIO', 'fsync', { path: this.state.path, cause: failed, detail: `an earlier commit could not be made durable: ${why}; reopen the pool` });
  }

  /** Make every pending change durable, atomically, before returning (stores of promise methods included). */
  commit(): void {
    if (this.state.pending || this.committing) this.#stats.commitRequests++;
    this.#commitNow();
  }

  /**
   * Group commit where write-back is inline (cache-line flushes): the callers of one turn of the event
   * loop share one commit, made at its end (setImmediate). The wait also gives the loop its turn.
   */
  #commitNextTurn(): Promise<void> {
    this.#nextTurn ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.#nextTurn = null;
        try {
          // After closeSync the callers find out themselves (ERR_PMEMDAX_CLOSED); the final commit took their changes.
          const t0 = this.hold.start();
          if (!this.closed) this.#commitNow();
          this.hold.stop(t0, 'commit');
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
    return this.#nextTurn;
  }

  /**
   * Called as a promise method settles. One that never has to wait would let a loop of awaits hold
   * the thread for good (promise callbacks run before any I/O or timer): once the thread has gone
   * PACE_MS without a turn of the event loop, the call waits for one.
   */
  pace(): Promise<void> | null {
    const now = performance.now();
    if (!this.#turnArmed) {
      this.#turnArmed = true;
      this.#turnStart = now;
      setImmediate(this.#turned);
      return null;
    }
    if (now - this.#turnStart < PACE_MS) return null;
    return nextTurn();
  }

  readonly #turned = (): void => {
    this.#turnArmed = false;
  };

  #commitNow(): void {
    this.#healthy();
    this.#takeOver();
    const s = this.state;
    if (!s.pending) {
      s.endFlight();
      return;
    }
    if (!this.journal.append(s)) {
      this.checkpoint();
      return;
    }
    this.#stats.records++;
    s.committed();
  }

  /**
   * A synchronous commit cannot wait for the group commit in flight: it makes durable here, on this
   * thread, what that one would have -- every deferred store, then its record -- and the flight,
   * when it wakes, finds its work done.
   */
  #takeOver(): void {
    const d = this.#deferred;
    if (d === null) return;
    const f = this.#flight;
    try {
      if (d.busy) d.persistNow();
      if (f === null || f.settled) return;
      // A job may be writing the record: let it finish (it must not land after what follows), then write
      // the same bytes here, durable on return, whatever the job's outcome.
      if (f.written) d.waitJobs();
      this.device.copy(this.journal.offset + f.at, f.bytes);
    } catch (e) {
      // The flight's record (or a block it maps) may not be on the media: later records must not follow it.
      if (f !== null && !f.settled) this.#failed ??= e;
      throw e;
    }
    f.written = true;
    f.settled = true;
  }

  /**
   * Commit for a promise method: group commit. While one commit's write-back is in flight, later
   * callers gather behind it and share the next record (one record, one write-back for all of them).
   * On a device without deferred write-back it is `commit()`.
   */
  commitAsync(): Promise<void> {
    this.#stats.commitRequests++;
    if (this.#deferred === null) return this.#commitNextTurn();
    // One commit at a time: a batch already gathering takes this caller too.
    if (this.#queued !== null) return this.#queued;
    if (this.#running === null) return this.#start();
    this.#queued = this.#running.then(noop, noop).then(() => {
      this.#queued = null;
      return this.#start();
    });
    return this.#queued;
  }

  /** For a close: every store handed to a job is made and durable before this returns, and no job starts after it. */
  quiesce(): void {
    this.#deferred?.quiesce();
  }

  /** Every store made so far by a promise method, durable (no commit). */
  durable(): Promise<void> {
    return this.#deferred === null ? Promise.resolve() : this.#deferred.durable();
  }

  #start(): Promise<void> {
    const run = this.#fly(this.#deferred as DeferredFlush);
    this.#running = run;
    const clear = (): void => {
      if (this.#running === run) this.#running = null;
    };
    run.then(clear, clear);
    return run;
  }

  async #fly(d: DeferredFlush): Promise<void> {
    if (this.closed) return;
    this.#healthy();
    const s = this.state;
    if (!s.pending) {
      await d.durable();
      return;
    }
    const t0 = this.hold.start();
    const n = this.journal.encode(s);
    if (n < 0) {
      // The journal is full: a checkpoint, after the stores it maps are durable (written inline).
      this.hold.stop(t0, 'commit');
      await d.durable();
      // The checkpoint times itself.
      this.#commitNow();
      return;
    }
    const f: Flight = { at: this.journal.tail - n, bytes: this.journal.record(n), written: false, settled: false };
    s.beginFlight();
    this.#flight = f;
    this.#stats.records++;
    this.hold.stop(t0, 'commit');
    try {
      // Ordered data: the record may reach the media only after every block it maps holds its bytes.
      await d.durable();
      if (!f.settled) {
        this.#healthy();
        f.written = true;
        await d.writeThrough(this.journal.offset + f.at, f.bytes, () => !f.settled);
      }
    } catch (e) {
      if (!f.settled) this.#failed ??= e;
      throw e;
    } finally {
      if (this.#flight === f) this.#flight = null;
    }
    if (!f.settled) {
      f.settled = true;
      s.endFlight();
    }
  }

  /**
   * Fold the journal into a checkpoint (at open after a crash, at close). On a pool where no
   * checkpoint fits (filled before the reserve rule, or free space in more pieces than a checkpoint
   * may have) the journal is kept instead: pending changes go to it, and a later checkpoint, once
   * deletes have made room, folds it. Returns whether a checkpoint was written. `force`: one is written
   * even with nothing to fold.
   */
  settle(force = false): boolean {
    if (this.journal.tail === 0 && !this.state.pending && !force) return false;
    try {
      this.checkpoint();
      return true;
    } catch (e) {
      if (!isErrnoError(e, 'ENOSPC')) throw e;
    }
    this.commit();
    return false;
  }

  /**
   * Bring the checkpoint up to the whole state (pending changes included): the trees' changed pages and
   * the bitmap go to blocks the committed checkpoint does not use, then the superblocks point at them,
   * primary first, then the copy. Until the primary is durable the old checkpoint and journal are what a
   * crash recovers; after it, the new one. ENOSPC, with nothing changed, when the free blocks cannot hold
   * it (the reserve rule keeps them able to).
   */
  checkpoint(whole = false): void {
    // Timed whichever call made it (a synchronous one too): it is the longest thing a call can do.
    const t0 = this.hold.start();
    try {
      this.#checkpoint(whole);
    } finally {
      this.hold.stop(t0, 'checkpoint');
    }
  }

  #checkpoint(whole: boolean): void {
    // After a failed commit or write-back a checkpoint (the close's too) would make memory's state, holes included, the media's.
    this.#healthy();
    this.#takeOver();
    const s = this.state;
    // What readers let go since is free for this checkpoint's pages, and not counted as held in its superblock.
    s.alloc.reclaim();
    const epoch = this.sb.epoch + 1;
    const failure = this.#forReaders(() => {
      const next = writeCheckpoint(this.device, s, this.sb, epoch, whole);
      try {
        this.writeSuperblocks(next);
      } catch (e) {
        // Unless a superblock switched, the media still hold the old state: so must memory.
        if (this.sb.epoch !== epoch) {
          abandonCheckpoint(s);
          throw e;
        }
        // One copy switched (the other failed): the new checkpoint is what the media hold.
        return e;
      }
      return null;
    });
    this.journal.reset(epoch);
    finishCheckpoint(s);
    this.#stats.checkpoints++;
    s.committed();
    if (failure !== null) throw failure;
  }

  /**
   * Grow the pool to `blocks` blocks, on a device that holds them already (docs/format.md, "Growing a
   * pool"): a checkpoint of a new epoch as `#checkpoint` makes, in the grown layout (grownLayout), then the
   * new backup superblock at the new last block (zeroed first), then the primary, which is the switch. A
   * failure before the switch leaves the pool as it was, in memory and on the media (the device stays
   * longer; the next open cuts the file back). A failed primary write leaves the media either way: nothing
   * more commits and the pool must be reopened. After the switch the allocator takes the new blocks as free.
   */
  grow(blocks: number): void {
    const t0 = this.hold.start();
    try {
      this.#grow(blocks);
    } finally {
      this.hold.stop(t0, 'checkpoint');
    }
  }

  #grow(blocks: number): void {
    this.#healthy();
    this.#takeOver();
    const s = this.state;
    const old = this.sb;
    const { layout, adjust } = grownLayout(old, blocks, s.path);
    const backupAt = (blocks - 1) * BLOCK;
    // A stale copy of an earlier attempt there must not count as a valid backup before this one is written.
    this.device.fill(backupAt, 0, BLOCK);
    const epoch = old.epoch + 1;
    // Both copies move: neither new place holds what the copies held, so each is written whole.
    s.bitmapCopies.forget();
    const next = this.#forReaders(() => {
      const written = writeCheckpoint(this.device, s, layout, epoch, false, adjust);
      const sb: Superblock = { ...written, seq: (old.seq + 1) >>> 0 };
      const bytes = encodeSuperblock(sb);
      try {
        this.#writeBlock(backupAt, bytes);
      } catch (e) {
        abandonCheckpoint(s);
        s.bitmapCopies.forget();
        throw e;
      }
      try {
        this.#writeBlock(0, bytes);
      } catch (e) {
        // The primary may be torn: a load finds the new backup then. Which pool the media hold, only a load can tell.
        this.#failed ??= e;
        throw e;
      }
      return sb;
    });
    s.sb = next;
    this.journal.reset(epoch);
    finishCheckpoint(s);
    s.alloc.grow(blocks, dataEnd(next), adjust(s.alloc.bitmap));
    if (s.metaBlocks !== null) s.metaBlocks = adjust(s.metaBlocks);
    this.#stats.checkpoints++;
    s.committed();
  }

  /**
   * Both copies, one after the other, each durable before the next is written: normally the primary
   * first. If the backup is not the superblock in force on the media (a crash tore it, or its write failed),
   * it goes first, so that at every moment one of the two copies is whole and current.
   */
  writeSuperblocks(sb: Superblock): void {
    const next = { ...sb, seq: (sb.seq + 1) >>> 0 };
    const bytes = encodeSuperblock(next);
    const backupAt = (next.blocks - 1) * BLOCK;
    const order = this.#backupCurrent(backupAt) ? [0, backupAt] : [backupAt, 0];
    for (const at of order) {
      this.#writeBlock(at, bytes);
      // The first whole copy is the switch: from here a crash recovers `next`.
      this.state.sb = next;
    }
  }

  /**
   * Is the backup on the media whole and the superblock in force? A stale one (its write failed after the
   * primary's) points at trees whose pages may have been freed since: a primary torn now must not fall back to it.
   */
  #backupCurrent(at: number): boolean {
    try {
      const sb = decodeSuperblock(readMeta(this.device, this.state.path, at, BLOCK, 'backup superblock'));
      return isSuperblock(sb) && sb.seq === this.state.sb.seq;
    } catch {
      return false;
    }
  }

  /** A whole-block write; over poison it is the recovery write that also clears the poison. */
  #writeBlock(offset: number, bytes: Uint8Array): void {
    const d = this.device;
    const poisoned = d.badblocks().some((r) => r.offset < offset + BLOCK && offset < r.offset + r.length);
    if (poisoned && d.clearBadblocks !== undefined) d.clearBadblocks(offset, BLOCK, bytes);
    else d.copy(offset, bytes);
  }
}

function noop(): void {}
