import { performance } from 'node:perf_hooks';
import type { Allocator } from './alloc';
import type { Claims } from './claims';

/** How often a writer holding the in-place lock looks at it, and how often one copying tries to take it again. */
const ASK_MS = 2;

/** Slots of the array shared with the device's watch (native/in_place_watch.h names them the same). */
const STATE = 0;
const WRITING = 1;
const GATHERED = 2;
/** 1 once the watch makes the barrier a plain store to WRITING needs (the process registered for membarrier). */
const BARRIER = 3;
const SLOTS = 4;
const CACHE_LINE = 64;

/** Values of slots[STATE]: who holds the in-place lock. */
const FREE = 0;
const HELD = 1;
/** A reader claimed: the writer copies from now, and the lock goes once its in-place stores are made. */
const REVOKED = 2;
/** One of the writer's thread and the watch is dropping the lock; FREE follows. */
const RELEASING = 3;

/**
 * The shared slots, alone on their cache line: every write stores to them, and a small allocation of another
 * thread's on the same line would bounce it between CPUs. Allocations are 16-byte aligned at least, so the
 * line holding bytes 64..75 of 192 lies inside them.
 */
function cacheLineSlots(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(3 * CACHE_LINE), CACHE_LINE, SLOTS);
}

/** Gates of this thread's writers: a reader opening on the same thread cannot wait for their timers (`yieldInPlace`). */
const GATES = new Set<InPlaceGate>();

/**
 * What a gate needs of the writer's deferred stores (DeferredFlush): those handed to jobs, made here at once;
 * and where it clears slot GATHERED once stores gathered for a job are in one, or made.
 */
export interface InPlaceStores {
  storeNow(): void;
  gathered: Int32Array | null;
}

/** Slot GATHERED of `slots` goes to 0: the stores gathered in JavaScript are in a job now, or made. */
export function storesHandedOver(slots: Int32Array | null): void {
  if (slots !== null) Atomics.store(slots, GATHERED, 0);
}

/**
 * InPlaceGate -- a writer's overwrites beside readers (docs/design.md, "Live readers", "Data written in
 * place"). A reader's snapshot reaches every block committed at its point, so a write over such a block
 * would change bytes under it: while readers may exist the writer copies on write every block committed
 * before its last commit began; only blocks allocated since (no record names them yet) are written in place.
 * With no reader at all it writes in place, as a pool without readers always did, holding the in-place lock
 * (claims.ts) for as long as it does:
 * - to start: take the lock, then ask whether any claim exists; one does: let it go and go on copying;
 * - a reader claims, then waits for the lock to be free before it reads (reader.ts): either the writer's
 *   question saw the claim, or the reader sees the lock and waits;
 * - while the lock is held a thread of the device (native/in_place_watch.h) asks every ASK_MS whether a claim
 *   came; when one did it says so in the slots the two share (REVOKED), decisions from then on copy, and the
 *   lock goes once no in-place decision is between its check and its store (WRITING) and no in-place store
 *   waits for a job (GATHERED) or runs in one. The reader then reads a state in which every in-place store is
 *   whole, and none comes after. The watch needs nothing of the writer's thread, which may be busy for
 *   seconds; that thread lets the lock go too, when it goes idle or sees REVOKED first.
 * A decision in place and its store are made in one run of the thread (or the store handed to a job in it),
 * and WRITING says so from the decision until the write is told done or the run ends. A reader on the
 * writer's own thread cannot wait for anything of that thread: it makes each of the thread's writers let go at
 * once (`yieldInPlace`), their handed-over stores made on the spot. A device without a watch (a test device)
 * leaves the question to the writer's timer.
 */
export class InPlaceGate {
  readonly #claims: Claims;
  readonly #stores: InPlaceStores | null;
  readonly #slots = cacheLineSlots();
  /** Slot WRITING is 1: an in-place decision in this run, its store not yet told done. */
  #writing = false;
  #endQueued = false;
  /** An in-place decision or hand-over since the last tick: the writer is not idle. */
  #used = false;
  /** Store jobs handed over while holding and not yet landed (on this thread), counted in generation `#gen`. */
  #jobs = 0;
  #gen = 0;
  /** When a try to write in place last found a reader. */
  #refused = -ASK_MS;
  /** Runs while the writer thinks it holds the lock (HELD or REVOKED). */
  #timer: ReturnType<typeof setInterval> | null = null;
  /** The device's watch asks about claims while the lock is held (else this thread's timer does). */
  #watched = false;
  /**
   * A decision in this run copied: the rest of the run copies too. Taking the lock part way through a write
   * would put its later blocks in place, seen at once, beside earlier ones copied, seen only at its commit: a
   * reader let in between would see the write in part.
   */
  #copied = false;
  readonly #endRun = (): void => {
    this.#endQueued = false;
    this.#copied = false;
    this.wrote();
    // A job that landed while the decision was open left the release to now.
    this.#leaveIfDone();
  };

  constructor(claims: Claims, alloc: Allocator, stores: InPlaceStores | null) {
    this.#claims = claims;
    this.#stores = stores;
    if (stores !== null) stores.gathered = this.#slots;
    alloc.inPlace = this;
    GATES.add(this);
  }

  /**
   * Must the writer copy a committed block (alloc.ts, `cowNeeded`)? Not while holding the lock with no
   * reader: a decision in place stays so until the write is told done (`wrote`), the lock cannot go
   * meanwhile. Not holding it, the writer tries to take it (a system call or two): at once after an idle
   * spell, every ASK_MS at most while readers keep it copying. Either answer holds to the end of the run
   * of the thread (`#writing`, `#copied`), so a write made in one run is wholly in place or wholly copied.
   */
  copying(): boolean {
    if (this.#writing) return false;
    if (this.#copied) return true;
    const s = this.#slots;
    let state = Atomics.load(s, STATE);
    if (state === FREE) {
      if (this.#timer !== null) this.#freed();
      if (performance.now() - this.#refused < ASK_MS) return this.#copy();
      if (!this.#enter()) {
        this.#refused = performance.now();
        return this.#copy();
      }
      state = HELD;
    }
    if (state !== HELD) return this.#copy();
    // Said before the state is read again: the watch, which says REVOKED before it reads WRITING, either sees
    // this or is seen here.
    this.#writing = true;
    this.#sayWriting(s);
    this.#endRunLater();
    if (Atomics.load(s, STATE) !== HELD) {
      this.wrote();
      return this.#copy();
    }
    this.#used = true;
    return false;
  }

  /** Copy, and keep copying until the run ends. */
  #copy(): true {
    this.#copied = true;
    this.#endRunLater();
    return true;
  }

  #endRunLater(): void {
    if (this.#endQueued) return;
    this.#endQueued = true;
    queueMicrotask(this.#endRun);
  }

  /**
   * For a store made right after it and told done by `stored()` in the same call (a sync overwrite): true
   * when the lock is held with no reader, as `copying()` would say false; false when that needs more (the
   * lock to take, a reader to copy for, a decision open): the caller asks `copying()`. Kept small, for V8 to
   * inline: the same handshake with the watch as copying(), without the run's bookkeeping.
   */
  storeNow(): boolean {
    const s = this.#slots;
    // Not said while the lock is not held: a watch releasing it would see WRITING and wait a period more.
    if (this.#writing || Atomics.load(s, STATE) !== HELD) return false;
    this.#sayWriting(s);
    if (Atomics.load(s, STATE) !== HELD) {
      s[WRITING] = 0;
      return false;
    }
    this.#used = true;
    return true;
  }

  /**
   * Slot WRITING is 1, before the state is read again: the watch, which says REVOKED before it reads WRITING,
   * either sees this or is seen. The processor may let the later load pass a plain store; the watch's
   * membarrier, made between its REVOKED and its read, orders the two on this thread once slot BARRIER says it
   * makes it; else the store is fenced here (a sequentially consistent store, ~20 ns of a 4 KiB overwrite:
   * before the watch's thread has registered, on a kernel without membarrier, or under PMEMDAX_NO_MEMBARRIER;
   * with no watch, this thread's own revokes need neither). That the compiler keeps the plain store above the
   * Atomics.load is V8's doing (both stay in its order of effects), not the language's promise:
   * PMEMDAX_NO_MEMBARRIER fences it whatever the kernel.
   */
  #sayWriting(s: Int32Array): void {
    if (s[BARRIER] === 1) s[WRITING] = 1;
    else Atomics.store(s, WRITING, 1);
  }

  /** The store `storeNow()` let go in place is made (or failed): as `wrote()`, a plain store will do. */
  stored(): void {
    this.#slots[WRITING] = 0;
  }

  /** A write is done: its in-place stores are made (or handed to a job), the lock may go before the next. */
  wrote(): void {
    if (!this.#writing) return;
    this.#writing = false;
    // A plain store, not Atomics.store (a locked exchange, ~8 % of a 4 KiB overwrite in place): the watch only
    // needs to see it after the in-place stores before it, which x86-64's store order gives (the package is
    // for x64 only) as those are write-back stores or end with a drain (sfence); non-temporal stores left
    // undrained (NODRAIN) would need the exchange back. Setting the slot, which must be seen before STATE is
    // read again, is fenced, or ordered by the watch's membarrier (#sayWriting).
    this.#slots[WRITING] = 0;
  }

  /**
   * A store job is handed over, its stores gathered (DeferredFlush.storeRoom) in the run that planned them:
   * after an in-place decision in this run they may be in place, and the lock stays until they are made (slot
   * GATHERED, then the device's jobs). Returns the generation `landed` takes, or -1 (a chunk that copies: a
   * writer copying beside readers is never held up by its own jobs).
   */
  handed(): number {
    if (!this.#writing) return -1;
    Atomics.store(this.#slots, GATHERED, 1);
    this.#used = true;
    this.#jobs++;
    return this.#gen;
  }

  landed(gen: number): void {
    if (gen < 0 || gen !== this.#gen) return;
    this.#jobs--;
    this.#leaveIfDone();
  }

  /** The writer closes: the watch ends, and the lock goes with it (its device may stay open). */
  close(): void {
    GATES.delete(this);
    this.#claims.unwatchInPlace();
    const state = Atomics.load(this.#slots, STATE);
    if (state === HELD || state === REVOKED) this.#release(state);
    else if (this.#timer !== null) this.#freed();
  }

  /** For a reader on this thread: stop writing in place now, stores handed over made at once. */
  yieldNow(): void {
    const s = this.#slots;
    Atomics.compareExchange(s, STATE, HELD, REVOKED);
    if (Atomics.load(s, STATE) !== REVOKED) return;
    // This thread is the reader's: no write of it is between a decision and its store.
    this.wrote();
    if (this.#jobs > 0) this.#stores?.storeNow();
    this.#release(REVOKED);
  }

  #enter(): boolean {
    const claims = this.#claims;
    if (!claims.inPlace(true)) return false;
    if (claims.anyBefore()) {
      claims.inPlace(false);
      return false;
    }
    Atomics.store(this.#slots, STATE, HELD);
    this.#used = true;
    this.#timer = setInterval(() => this.#tick(), ASK_MS);
    this.#timer.unref();
    let watched = false;
    try {
      watched = claims.watchInPlace(this.#slots);
    } catch {
      // No thread for the watch (EAGAIN, ENOMEM): this thread's timer asks about claims, as on a test device.
    }
    // Unwatched, revokes are this thread's own and need no barrier; an ended watch's say-so is cleared all the same.
    if (!watched) Atomics.store(this.#slots, BARRIER, 0);
    this.#watched = watched;
    return true;
  }

  #tick(): void {
    const s = this.#slots;
    if (Atomics.load(s, STATE) === FREE) {
      this.#freed();
      return;
    }
    if (!this.#watched && this.#used && this.#claims.anyBefore()) Atomics.compareExchange(s, STATE, HELD, REVOKED);
    // Idle: no in-place use since the last tick, none in flight.
    if (!this.#used && this.#jobs === 0 && !this.#writing && Atomics.load(s, STATE) === HELD) this.#release(HELD);
    this.#leaveIfDone();
    this.#used = false;
  }

  /** A reader came (REVOKED) and this thread's in-place stores are made: the lock goes. */
  #leaveIfDone(): void {
    if (this.#jobs === 0 && !this.#writing && Atomics.load(this.#slots, STATE) === REVOKED) this.#release(REVOKED);
  }

  /** This thread drops the lock, unless the watch is dropping it already. */
  #release(from: number): void {
    if (Atomics.compareExchange(this.#slots, STATE, from, RELEASING) !== from) return;
    this.#claims.inPlace(false);
    Atomics.store(this.#slots, STATE, FREE);
    this.#freed();
  }

  /** The lock is gone (dropped here or by the watch): what was counted for it is done. */
  #freed(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#jobs = 0;
    this.#gen++;
    this.wrote();
  }
}

/** A reader on this thread found the in-place lock held: this thread's writers let go of it at once. */
export function yieldInPlace(): void {
  for (const gate of GATES) gate.yieldNow();
}
