import type { Allocator } from './alloc';
import type { Claims } from './claims';

/** How often a writer writing in place asks whether a reader came, and how often one copying asks whether all left. */
const ASK_MS = 2;

/** Writes between two reads of the clock (a power of two). */
const WRITES_PER_LOOK = 32;

/** Gates of this thread's writers: a reader opening on the same thread cannot wait for their timers (`yieldInPlace`). */
const GATES = new Set<InPlaceGate>();

/** What a gate needs of the writer: the stores handed to jobs, made here at once (DeferredFlush.storeNow). */
export interface InPlaceStores {
  storeNow(): void;
}

/**
 * InPlaceGate -- a writer's overwrites beside readers (docs/design.md, "Live readers", "Data written in
 * place"). A reader's snapshot reaches every block committed at its point, so a write over such a block
 * would change bytes under it: while readers may exist the writer copies on write every block committed
 * before its last commit began (`alloc.copyOld`); only blocks allocated since (no record names them yet)
 * are written in place. With no reader at all it writes in place, as a pool without readers always did,
 * holding the in-place lock (claims.ts) for as long as it does:
 * - to start: take the lock, then ask whether any claim exists; one does: let it go and go on copying;
 * - a reader claims, then waits for the lock to be free before it reads (reader.ts): either the writer's
 *   question saw the claim, or the reader sees the lock and waits;
 * - while it holds the lock the writer asks every ASK_MS (a timer, and its writes) whether a claim came; once
 *   one did, or the writer went idle, its new writes copy, and the lock goes once the stores it handed to
 *   jobs in place have landed. The reader then reads a state in which every in-place store is whole.
 * A reader on the writer's own thread cannot wait for a timer: it makes each of the thread's writers let go
 * at once (`yieldInPlace`), their handed-over stores made on the spot.
 */
export class InPlaceGate {
  readonly #claims: Claims;
  readonly #alloc: Allocator;
  readonly #stores: InPlaceStores | null;
  #held = false;
  /** The writer stops writing in place: a reader came, or it went idle. The lock goes when `#jobs` is 0. */
  #leaving = false;
  /** An in-place decision since the last tick: the writer is not idle. */
  #used = false;
  /** Store jobs handed over while writing in place and not yet landed, counted in generation `#gen`. */
  #jobs = 0;
  #gen = 0;
  #asked = 0;
  #writes = 0;
  /** When a try to write in place last found a reader. */
  #refused = -ASK_MS;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(claims: Claims, alloc: Allocator, stores: InPlaceStores | null) {
    this.#claims = claims;
    this.#alloc = alloc;
    this.#stores = stores;
    alloc.inPlace = this;
    alloc.copyOld = true;
    GATES.add(this);
  }

  /**
   * Is the writer copying committed blocks (`alloc.copyOld`)? Asked by the allocator, only while it is. Not
   * holding the lock, it tries to write in place again (a system call or two): at once after an idle spell,
   * every ASK_MS at most while readers keep it copying. A writer with no reader never copies.
   */
  copying(): boolean {
    if (!this.#held && performance.now() - this.#refused >= ASK_MS && !this.#enter()) this.#refused = performance.now();
    return this.#alloc.copyOld;
  }

  /**
   * A write was made: while writing in place, ask now and then whether a reader came (the thread may be busy
   * for long). The clock is read every WRITES_PER_LOOK writes: a write of the fast path costs less than a
   * clock read on some machines.
   */
  wrote(): void {
    if (!this.#held) return;
    this.#used = true;
    if ((++this.#writes & (WRITES_PER_LOOK - 1)) === 0 && performance.now() - this.#asked >= ASK_MS) this.#tick();
  }

  /** A store job is handed over: its generation when it stores in place (`landed` takes it), else -1. */
  handed(): number {
    if (!this.#held || this.#leaving) return -1;
    this.#used = true;
    this.#jobs++;
    return this.#gen;
  }

  landed(gen: number): void {
    if (gen < 0 || gen !== this.#gen) return;
    this.#jobs--;
    if (this.#leaving && this.#jobs === 0) this.#release();
  }

  /** The writer closes: the lock goes with it (its device may stay open). */
  close(): void {
    GATES.delete(this);
    if (this.#held) this.#release();
  }

  /** For a reader on this thread: stop writing in place now, stores handed over made at once. */
  yieldNow(): void {
    if (!this.#held) return;
    this.#leaving = true;
    this.#alloc.copyOld = true;
    if (this.#jobs > 0) this.#stores?.storeNow();
    this.#release();
  }

  #enter(): boolean {
    if (!this.#claims.inPlace(true)) return false;
    if (this.#claims.anyBefore()) {
      this.#claims.inPlace(false);
      return false;
    }
    this.#held = true;
    this.#leaving = false;
    this.#used = true;
    this.#alloc.copyOld = false;
    this.#asked = performance.now();
    this.#timer = setInterval(() => this.#tick(), ASK_MS);
    this.#timer.unref();
    return true;
  }

  #tick(): void {
    this.#asked = performance.now();
    // Idle (no in-place write since the last tick, none in flight): the lock goes. A reader: writes copy from now.
    if (!this.#used && this.#jobs === 0) this.#release();
    else if (!this.#leaving && this.#used && this.#claims.anyBefore()) {
      this.#leaving = true;
      this.#alloc.copyOld = true;
      if (this.#jobs === 0) this.#release();
    }
    this.#used = false;
  }

  #release(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#held = false;
    this.#leaving = false;
    this.#jobs = 0;
    this.#gen++;
    this.#alloc.copyOld = true;
    this.#claims.inPlace(false);
  }
}

/** A reader on this thread found the in-place lock held: this thread's writers let go of it at once. */
export function yieldInPlace(): void {
  for (const gate of GATES) gate.yieldNow();
}
