import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
// Imported, not the global: the global loads perf_hooks on its first use, milliseconds inside a pool's first call.
import { performance } from 'node:perf_hooks';
import type { HoldPiece } from './types';

const RING = 256;
/** How many of the longest pieces are kept (`pool.stats().longestHolds`). */
const HOLD_PIECES_KEPT = 128;

/**
 * HoldClock -- times the pieces of the pool's promise methods that hold the JavaScript thread without
 * giving it back (`pool.stats().longestHoldMs`): `start()` before a piece, `stop(token, what)` after it,
 * and keeps the longest pieces, with what each was and when it started, to match against a trace.
 *
 * Wall time always. With `PMEMDAX_HOLD_CLOCK=busy` (Linux, for diagnosis only: two reads of
 * /proc/thread-self/schedstat per piece, which slow the fast paths several times over) it also times
 * each piece less the time the kernel kept the thread runnable but off the CPU (schedstat's run delay):
 * on a machine with few CPUs the pool's own I/O threads, V8's helper threads and the kernel's take the
 * CPU from the thread in the middle of a piece, and the wall time then shows the machine's contention,
 * not what the piece did. Time the thread spent blocked in a system call (or a page fault) of the piece
 * counts in both. The run delay is read inside the wall interval, so busy time never drops the wait of
 * a moment outside the piece.
 */
export class HoldClock {
  longestMs = 0;
  /** Null unless the busy clock is on. */
  longestBusyMs: number | null = null;
  /** The longest pieces, by busy time with the busy clock and by wall time without, longest first. */
  readonly #kept: HoldPiece[] = [];
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

  /** A token for `stop`: the wall start, or with the busy clock a slot of the ring. */
  start(): number {
    if (!this.#busy) return performance.now();
    const slot = this.#next;
    this.#next = (slot + 1) % RING;
    this.#starts[2 * slot] = performance.now();
    this.#starts[2 * slot + 1] = this.#runDelayMs();
    return slot;
  }

  /** The piece `token` started is over; `what` names it (`read`, `store`, `commit`, a system call). */
  stop(token: number, what: string): void {
    if (!this.#busy) {
      const wall = performance.now() - token;
      if (wall > this.longestMs) this.longestMs = wall;
      this.#keep(what, token, wall, null, wall);
      return;
    }
    const delay = this.#runDelayMs();
    const startMs = this.#starts[2 * token] as number;
    const wall = performance.now() - startMs;
    const busy = wall - (delay - (this.#starts[2 * token + 1] as number));
    if (wall > this.longestMs) this.longestMs = wall;
    if (busy > (this.longestBusyMs as number)) this.longestBusyMs = busy;
    this.#keep(what, startMs, wall, busy, busy);
  }

  /** The longest pieces, longest first (by busy time with the busy clock, else by wall time). */
  get longestPieces(): readonly HoldPiece[] {
    return [...this.#kept];
  }

  #keep(what: string, startMs: number, wallMs: number, busyMs: number | null, rank: number): void {
    const kept = this.#kept;
    const last = kept[HOLD_PIECES_KEPT - 1];
    // NaN (a piece timed across the close) is not kept; the comparison is false for it.
    if (!(rank > (last === undefined ? -1 : rankOf(last)))) return;
    let i = Math.min(kept.length, HOLD_PIECES_KEPT - 1);
    while (i > 0 && rankOf(kept[i - 1] as HoldPiece) < rank) i--;
    kept.splice(i, 0, { what, startMs, wallMs, busyMs });
    if (kept.length > HOLD_PIECES_KEPT) kept.length = HOLD_PIECES_KEPT;
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

function rankOf(piece: HoldPiece): number {
  return piece.busyMs ?? piece.wallMs;
}

/** No schedstat (another OS, or a kernel without it): wall time only. */
function schedstatReadable(): boolean {
  try {
    accessSync(SCHEDSTAT, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
