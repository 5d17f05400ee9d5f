import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
import type { HoldPiece } from './types';

const RING = 256;
/** Busy mode keeps this many of the longest pieces. */
const KEPT = 16;

/**
 * HoldClock -- times the pieces of the pool's promise methods that hold the JavaScript thread without
 * giving it back (`pool.stats().longestHoldMs`): `start()` before a piece, `stop(token)` after it.
 *
 * Wall time always. With `PMEMDAX_HOLD_CLOCK=busy` (Linux, for diagnosis only: two reads of
 * /proc/thread-self/schedstat per piece, which slow the fast paths several times over) it also times
 * each piece less the time the kernel kept the thread runnable but off the CPU (schedstat's run delay):
 * on a machine with few CPUs the pool's own I/O threads, V8's helper threads and the kernel's take the
 * CPU from the thread in the middle of a piece, and the wall time then shows the machine's contention,
 * not what the piece did. Time the thread spent blocked in a system call (or a page fault) of the piece
 * counts in both.
 */
export class HoldClock {
  longestMs = 0;
  /** Null unless the busy clock is on. */
  longestBusyMs: number | null = null;
  /** Busy mode: the longest pieces by busy time, longest first. */
  readonly #kept: HoldPiece[] = [];
  readonly #whats: string[] = [];
  /** The schedstat descriptor: -1 with the wall clock only; opened at the first piece (a pool that fails to open times none). */
  #fd = -1;
  readonly #busy: boolean;
  #closed = false;
  readonly #buf = Buffer.alloc(96);
  /** Busy mode: [wall start, run delay start] per token, a ring (pieces in progress at once are few). */
  readonly #starts = new Float64Array(2 * RING);
  #next = 0;

  constructor(busy = process.env.PMEMDAX_HOLD_CLOCK === 'busy') {
    this.#busy = busy && schedstatReadable();
    if (this.#busy) this.longestBusyMs = 0;
  }

  /** A token for `stop`: the wall start, or with the busy clock a slot of the ring. `what` names the piece (busy mode keeps the longest). */
  start(what: string): number {
    if (!this.#busy) return performance.now();
    const slot = this.#next;
    this.#next = (slot + 1) % RING;
    this.#whats[slot] = what;
    this.#starts[2 * slot + 1] = this.#runDelayMs();
    this.#starts[2 * slot] = performance.now();
    return slot;
  }

  stop(token: number): void {
    const now = performance.now();
    if (!this.#busy) {
      if (now - token > this.longestMs) this.longestMs = now - token;
      return;
    }
    const wall = now - (this.#starts[2 * token] as number);
    const busy = wall - (this.#runDelayMs() - (this.#starts[2 * token + 1] as number));
    if (wall > this.longestMs) this.longestMs = wall;
    if (busy > (this.longestBusyMs as number)) this.longestBusyMs = busy;
    this.#keep(this.#whats[token] as string, this.#starts[2 * token] as number, wall, busy);
  }

  /** The longest pieces by busy time (busy mode; null otherwise), longest first. */
  get longestPieces(): readonly HoldPiece[] | null {
    return this.#busy ? [...this.#kept] : null;
  }

  #keep(what: string, startMs: number, wallMs: number, busyMs: number): void {
    const kept = this.#kept;
    // NaN (a piece timed across the close) is not kept.
    if (!(busyMs > (kept.length < KEPT ? -1 : (kept[KEPT - 1] as HoldPiece).busyMs))) return;
    let i = Math.min(kept.length, KEPT - 1);
    while (i > 0 && (kept[i - 1] as HoldPiece).busyMs < busyMs) i--;
    kept.splice(i, 0, { what, startMs, wallMs, busyMs });
    if (kept.length > KEPT) kept.length = KEPT;
  }

  /** Longest pieces from zero again (`pool.stats({ reset: true })`); pieces in progress are timed whole. */
  reset(): void {
    this.longestMs = 0;
    if (this.longestBusyMs !== null) this.longestBusyMs = 0;
    this.#kept.length = 0;
  }

  /** Let go of the descriptor. A piece timed after it (a commit the close overtook) counts in wall time only. */
  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    this.#closed = true;
  }

  /** The thread's total time runnable but waiting for a CPU, in ms (the second field of schedstat); NaN once closed. */
  #runDelayMs(): number {
    if (this.#closed) return NaN;
    try {
      if (this.#fd < 0) this.#fd = openSync(SCHEDSTAT, 'r');
      const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, 0);
      const text = this.#buf.toString('latin1', 0, n);
      const from = text.indexOf(' ') + 1;
      return Number(text.slice(from, text.indexOf(' ', from))) / 1e6;
    } catch {
      // A diagnosis must never fail a pool call: from here on, wall time only.
      this.close();
      return NaN;
    }
  }
}

const SCHEDSTAT = '/proc/thread-self/schedstat';

/** No schedstat (another OS, or a kernel without it): wall time only. */
function schedstatReadable(): boolean {
  try {
    accessSync(SCHEDSTAT, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
