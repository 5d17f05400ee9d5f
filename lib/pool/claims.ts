import { nativeDeviceOf, nativeHandleOf } from '../device/device';
import type { PoolDevice } from './device';
import { BLOCK } from './layout';

/**
 * A committed state of the pool: the checkpoint of `epoch` and the first `seq` journal records of that epoch.
 * (E, 0) is the checkpoint alone; a checkpoint of epoch E+1 holds the same state as (E, last).
 */
export interface CommitPoint {
  readonly epoch: number;
  readonly seq: number;
}

/** a before b (-1), the same point (0), or after (1). */
export function comparePoints(a: CommitPoint, b: CommitPoint): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

/** Where the lock space of a pool starts (2^62): far past the end of any device, so no lock covers data. */
const CLAIM_BASE = 1n << 62n;
/** Held by a checkpoint while it decides what its bitmap keeps for readers (see `Claims.checkpointing`). */
const CHECKPOINT_AT = CLAIM_BASE - 1n;
/** Held by the writer for as long as it has the pool open: readers tell a live journal from a crashed one. */
const WRITER_AT = CLAIM_BASE - 2n;
/** Held by a writer for as long as it writes committed blocks in place (in-place-gate.ts): a reader waits for it to go. */
const IN_PLACE_AT = CLAIM_BASE - 3n;
/** One past the last claim byte: locks end within off_t (2^63 - 1). */
const CLAIM_END = (1n << 63n) - 2n;
/** Records an epoch can hold: one per 64-byte line of the journal, at most (journal.ts). */
const RECORD_ALIGN = 64;

/** The claims each device open holds, by lock byte, with how many holders each. */
const HELD = new WeakMap<PoolDevice, Map<bigint, number>>();

function heldOf(device: PoolDevice): Map<bigint, number> {
  let held = HELD.get(device);
  if (held === undefined) {
    held = new Map();
    HELD.set(device, held);
  }
  return held;
}

/**
 * Claims -- readers' snapshots as byte-range locks (docs/design.md, "Live readers"). A reader holding
 * snapshot P holds a shared open-file-description lock on the byte at CLAIM_BASE + number(P) of the pool's
 * file or device; a lock needs no bytes there, belongs to the reader's open alone, and the kernel drops it
 * when that open closes, SIGKILL included: no table to keep, nothing a dead reader can leak. The writer asks
 * the kernel which claims exist (`oldest`) and frees a block that commit P freed only once no claim is
 * older than P (deferred-frees.ts).
 */
export class Claims {
  readonly #device: PoolDevice & Required<Pick<PoolDevice, 'rangeLock' | 'rangeConflict'>>;
  /** Commit numbers of an epoch: one more than the records its journal can hold. */
  readonly #perEpoch: bigint;

  constructor(device: PoolDevice & Required<Pick<PoolDevice, 'rangeLock' | 'rangeConflict'>>, journalBlocks: number) {
    this.#device = device;
    this.#perEpoch = BigInt((journalBlocks * BLOCK) / RECORD_ALIGN + 1);
  }

  /** The claims of `device`, or null when it has no range locks (a memory device: no other open can read it). */
  static of(device: PoolDevice, journalBlocks: number): Claims | null {
    if (device.rangeLock === undefined || device.rangeConflict === undefined) return null;
    return new Claims(device as PoolDevice & Required<Pick<PoolDevice, 'rangeLock' | 'rangeConflict'>>, journalBlocks);
  }

  /**
   * The lock byte of point `p`: in commit order, as a point's records never outnumber an epoch's numbers.
   * (2^62 bytes hold 2^42 epochs of a 64 MiB journal: a checkpoint a millisecond for 139 years.)
   */
  at(p: CommitPoint): bigint {
    return CLAIM_BASE + BigInt(p.epoch) * this.#perEpoch + BigInt(p.seq);
  }

  #point(at: bigint): CommitPoint {
    const n = at - CLAIM_BASE;
    return { epoch: Number(n / this.#perEpoch), seq: Number(n % this.#perEpoch) };
  }

  /**
   * Whether any claim older than `before` exists (one question to the kernel); with no `before`, any claim.
   * A claim taken after this answer is one on a state at least as new as the pool's newest commit.
   */
  anyBefore(before?: CommitPoint): boolean {
    const end = before === undefined ? CLAIM_END : this.at(before);
    if (end <= CLAIM_BASE) return false;
    return this.#device.rangeConflict(CLAIM_BASE, end - CLAIM_BASE, 'exclusive') !== null;
  }

  /**
   * The oldest claim older than `before` (of every claim without it), or null when there is none: the kernel
   * reports one conflicting lock per question, not the lowest, so a search narrows the range to it (at most
   * ~62 questions, usually a few).
   */
  oldest(before?: CommitPoint): CommitPoint | null {
    const end = before === undefined ? CLAIM_END : this.at(before);
    if (end <= CLAIM_BASE) return null;
    const first = this.#device.rangeConflict(CLAIM_BASE, end - CLAIM_BASE, 'exclusive');
    if (first === null) return null;
    // A claim is held at `hi`; none below `lo`.
    let lo = CLAIM_BASE;
    let hi = first;
    while (lo < hi) {
      const mid = lo + (hi - lo) / 2n;
      const found = this.#device.rangeConflict(lo, mid - lo + 1n, 'exclusive');
      if (found === null) lo = mid + 1n;
      else hi = found;
    }
    return this.#point(hi);
  }

  /**
   * Take a claim on `p` (shared with other readers of the same point). A lock belongs to the device's open,
   * and one open may hold the same point for several holders (a reader's snapshot and its open files, two
   * pools over one Device): the kernel's lock is taken by the first and dropped by the last of them.
   * False when it cannot be taken.
   */
  claim(p: CommitPoint): boolean {
    const at = this.at(p);
    const held = heldOf(this.#device);
    const n = held.get(at) ?? 0;
    if (n === 0 && !this.#device.rangeLock(at, 1n, 'shared')) return false;
    held.set(at, n + 1);
    return true;
  }

  /** Give back one holder's claim on `p`; the last one drops the lock. */
  drop(p: CommitPoint): void {
    const at = this.at(p);
    const held = heldOf(this.#device);
    const n = held.get(at) ?? 0;
    if (n > 1) {
      held.set(at, n - 1);
      return;
    }
    held.delete(at);
    if (n === 1 && !this.#device.closed) this.#device.rangeLock(at, 1n, 'none');
  }

  /** Does this open hold any claim (the writer's questions cannot see its own open's locks)? */
  static heldBy(device: PoolDevice): boolean {
    return (HELD.get(device)?.size ?? 0) > 0;
  }

  /**
   * The writer holds this while a checkpoint decides what its bitmap keeps for readers, until the new
   * superblock is durable: a reader that claims a point meanwhile cannot know whether the writer saw its
   * claim, so it waits for the checkpoint to end and claims again (`checkpointBusy`).
   */
  checkpointing(on: boolean): void {
    this.#device.rangeLock(CHECKPOINT_AT, 1n, on ? 'exclusive' : 'none');
  }

  /** The writer announces itself for as long as this open lasts (the kernel drops the lock with it). */
  announceWriter(): void {
    this.#device.rangeLock(WRITER_AT, 1n, 'exclusive');
  }

  /** Has a writer the pool open (its journal may grow while a reader reads it)? */
  writerLive(): boolean {
    return this.#device.rangeConflict(WRITER_AT, 1n, 'shared') !== null;
  }

  /** The writer starts (true: false when another open holds it) or stops writing committed blocks in place. */
  inPlace(on: boolean): boolean {
    if (this.#device.closed) return false;
    return this.#device.rangeLock(IN_PLACE_AT, 1n, on ? 'exclusive' : 'none');
  }

  /**
   * Have a thread of the device watch the in-place lock this open holds (in-place-gate.ts): it lets the lock
   * go when a reader claims and `slots` says the writer's in-place stores are made, however busy the writer's
   * own thread is. Called each time the writer takes the lock; false on a device without such a thread (a
   * test device): the writer then watches on its own thread alone. Once the watch makes the barrier the
   * writer's "I am writing" store needs before it reads the state (membarrier, once the process is
   * registered for it: in_place_watch.cpp), it says so in slot BARRIER of `slots`; until then the writer fences that store.
   */
  watchInPlace(slots: Int32Array): boolean {
    const d = nativeDeviceOf(this.#device);
    if (d === null || d.closed) return false;
    nativeHandleOf(d).watchInPlace(slots, IN_PLACE_AT, CLAIM_BASE, CLAIM_END - CLAIM_BASE);
    return true;
  }

  /** The watch's thread ends (the writer closes). */
  unwatchInPlace(): void {
    const d = nativeDeviceOf(this.#device);
    if (d !== null && !d.closed) nativeHandleOf(d).unwatchInPlace();
  }

  /** Is a writer writing committed blocks in place (a reader that claimed must wait before it reads)? */
  inPlaceBusy(): boolean {
    return this.#device.rangeConflict(IN_PLACE_AT, 1n, 'shared') !== null;
  }

  /** Is a writer between its claim check and its switch to a new checkpoint? */
  checkpointBusy(): boolean {
    return this.#device.rangeConflict(CHECKPOINT_AT, 1n, 'shared') !== null;
  }
}

/**
 * Before a change of the whole pool made offline (a grow, an upgrade, a format over it), under the writer's
 * exclusive flock: takes the checkpoint lock for as long as `device` stays open, so that readers starting
 * now wait for it (reader.ts), and says whether a reader holds a snapshot now -- the change must not be made
 * under it. False on a device without range locks.
 */
export function readersBeforeOfflineChange(device: PoolDevice): boolean {
  if (device.rangeLock === undefined || device.rangeConflict === undefined) return false;
  device.rangeLock(CHECKPOINT_AT, 1n, 'exclusive');
  return device.rangeConflict(CLAIM_BASE, CLAIM_END - CLAIM_BASE, 'exclusive') !== null;
}

/** The offline change is made (a format over the pool, whose device goes on as its writer's): readers may start. */
export function endOfflineChange(device: PoolDevice): void {
  device.rangeLock?.(CHECKPOINT_AT, 1n, 'none');
}
