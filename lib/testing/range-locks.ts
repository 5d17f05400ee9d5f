/** A lock mode, as a native Device's `rangeLock` takes it ('none' unlocks). */
export type RangeLockMode = 'exclusive' | 'shared' | 'none';

interface Held {
  readonly owner: object;
  readonly start: bigint;
  readonly end: bigint;
  readonly mode: 'exclusive' | 'shared';
}

/**
 * RangeLocks -- byte-range locks with the semantics of Linux open-file-description locks (`F_OFD_SETLK`,
 * `F_OFD_GETLK`), for MemoryDevices that stand in for several opens of one file: each owner (an open)
 * conflicts only with the others; a lock replaces the owner's own locks over its range, and unlocking a
 * part of a lock leaves the rest. Nothing here waits: a conflict is an answer, as with F_OFD_SETLK.
 */
export class RangeLocks {
  #held: Held[] = [];

  /** Set `[start, start+length)` to `mode` for `owner`; false (nothing changed) when another owner's lock conflicts. */
  set(owner: object, start: bigint, length: bigint, mode: RangeLockMode): boolean {
    const end = start + length;
    if (mode !== 'none' && this.conflict(owner, start, length, mode) !== null) return false;
    const kept: Held[] = [];
    for (const h of this.#held) {
      if (h.owner !== owner || h.end <= start || h.start >= end) {
        kept.push(h);
        continue;
      }
      if (h.start < start) kept.push({ ...h, end: start });
      if (h.end > end) kept.push({ ...h, start: end });
    }
    if (mode !== 'none') kept.push({ owner, start, end, mode });
    this.#held = kept;
    return true;
  }

  /** The start of a lock of another owner that `mode` over the range would conflict with, or null. */
  conflict(owner: object, start: bigint, length: bigint, mode: 'exclusive' | 'shared'): bigint | null {
    const end = start + length;
    for (const h of this.#held) {
      if (h.owner === owner || h.end <= start || h.start >= end) continue;
      if (mode === 'exclusive' || h.mode === 'exclusive') return h.start;
    }
    return null;
  }

  /** Every lock of `owner` goes, as the kernel's go when their open is closed. */
  releaseAll(owner: object): void {
    this.#held = this.#held.filter((h) => h.owner !== owner);
  }
}
