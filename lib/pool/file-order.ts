import type { PoolInode } from './inode';
import { sizeAhead } from './store-job';

/** What a queued call does to the file's size, as far as it is known when the call is made. */
export type TurnKind =
  /** A write at a known range. */
  | 'write'
  /** An append: its offset is reserved when it is called. */
  | 'append'
  /** Changes neither size nor blocks (fsync): it only waits for the calls before it. */
  | 'wait'
  /** truncate, fallocate, clone, dedupe, unshare: what it does to the size and blocks is known only when it runs. */
  | 'blind';

/** Bytes `[lo, hi)` of a queued write or append. */
interface QueuedRange {
  readonly lo: number;
  readonly hi: number;
}

/** One async call's place in its file's queue. */
export interface Turn {
  /** Settles when every earlier call of the file has finished; null when none was in flight. */
  readonly ready: Promise<void> | null;
  /** The offset reserved for an append; -1 when it is taken when the append runs (behind a blind call). */
  readonly pos: number;
  /** Hand the file to the next call. Exactly once, when this call has finished (`ok`) or failed. */
  done(ok?: boolean): void;
  /** Settles when every earlier call of the file has settled (its promise), so the file's promises settle in call order. */
  readonly before: Promise<void> | null;
  /** This call's promise is about to settle. Exactly once. */
  settled(): void;
}

/**
 * FileOrder -- the part of the kernel's i_rwsem the pool needs, per inode (so every handle of a file
 * shares it). Async calls that change a file run one at a time, in call order; each takes its turn
 * synchronously when called. Sync calls cannot wait: they run at once when that is the same as
 * running after the queued calls (a write outside every queued range, an append after them), and
 * fail with EAGAIN otherwise, as an IOCB_NOWAIT write would.
 *
 * While no blind call is queued, the queued writes and appends touch only their `ranges` (within `[lo, hi)`), and `end` is
 * the size the file will have once they land: appends, sync or async, are placed from it. Sync writes
 * and appends move `end` only: done at once, they own nothing a later sync write must keep clear of. From the
 * size the queue started at, `[start, solid)` is covered without a gap by the calls of the queue
 * (queued or done): a sync write past EOF need not zero what they write (`syncZero`).
 */
export class FileOrder {
  readonly #inode: PoolInode;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  /** Like `#tail`, for the settling of the calls' promises, which may come after their turns. */
  #settleTail: Promise<void> = Promise.resolve();
  #unsettled = 0;
  /** Queued or running calls whose effect is unknown until they run: blind calls and everything queued behind one. */
  #blind = 0;
  #lo = 0;
  #hi = 0;
  /** The ranges of the writes and appends queued and not yet done. */
  readonly #ranges = new Set<QueuedRange>();
  #end = 0;
  #start = 0;
  #solid = 0;

  constructor(inode: PoolInode) {
    this.#inode = inode;
  }

  /** Queue an async call now; `pos` and `length` are the range of a write, or the length of an append. */
  enter(kind: TurnKind, pos = 0, length = 0): Turn {
    if (this.#pending === 0) {
      this.#lo = Infinity;
      this.#hi = 0;
      this.#end = sizeAhead(this.#inode);
      this.#start = this.#end;
      this.#solid = this.#end;
    }
    const blind = kind === 'blind' || this.#blind > 0;
    let at = -1;
    let range: QueuedRange | null = null;
    if (!blind && kind === 'append') {
      at = Math.max(this.#end, sizeAhead(this.#inode));
      range = this.#cover(at, length);
    } else if (!blind && kind === 'write') {
      range = this.#cover(pos, length);
    }
    const ready = this.#pending === 0 ? null : this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#pending++;
    if (blind) this.#blind++;
    let finished = false;
    const done = (ok = true): void => {
      if (finished) return;
      finished = true;
      if (range !== null) {
        this.#ranges.delete(range);
        // A failed write or append may have written none of its range: a sync write's zeroing cannot count on it.
        if (!ok) this.#solid = Math.min(this.#solid, range.lo);
      }
      this.#pending--;
      if (blind) this.#blind--;
      release();
    };
    const before = this.#unsettled === 0 ? null : this.#settleTail;
    let letGo!: () => void;
    this.#settleTail = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    this.#unsettled++;
    let over = false;
    const settled = (): void => {
      if (over) return;
      over = true;
      this.#unsettled--;
      letGo();
    };
    return { ready, pos: at, done, before, settled };
  }

  /** No async call of the file is queued or running: sync calls need not ask. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /** May a sync write of `[pos, pos+length)` run now? True also records that it extends the coming size. */
  syncWrite(pos: number, length: number): boolean {
    if (this.#pending === 0) return true;
    if (this.#blind > 0 || this.#queuedIn(pos, length)) return false;
    this.#end = Math.max(this.#end, pos + length);
    this.#extendSolid(pos, length);
    return true;
  }

  /**
   * A sync write past EOF must zero `[pos, pos+length)` (the old EOF block's tail) first: 'zero' when
   * it may, 'skip' when the queue's calls write all of it anyway, 'busy' when a queued call owns
   * part of it (zeroing could destroy what a running one copied; leaving it, expose old bytes).
   */
  syncZero(pos: number, length: number): 'zero' | 'skip' | 'busy' {
    if (this.#pending === 0) return 'zero';
    if (this.#blind > 0) return 'busy';
    if (pos >= this.#start && pos + length <= this.#solid) return 'skip';
    return this.#queuedIn(pos, length) ? 'busy' : 'zero';
  }

  /** Does `[pos, pos+length)` meet the range of a queued write or append? */
  #queuedIn(pos: number, length: number): boolean {
    if (!(pos < this.#hi && this.#lo < pos + length)) return false;
    for (const r of this.#ranges) if (pos < r.hi && r.lo < pos + length) return true;
    return false;
  }

  /** The offset for a sync append of `length` bytes (reserved), or -1 when it cannot be placed without waiting. */
  syncAppend(length: number): number {
    if (this.#pending === 0) return sizeAhead(this.#inode);
    if (this.#blind > 0) return -1;
    const at = Math.max(this.#end, sizeAhead(this.#inode));
    this.#end = at + length;
    this.#extendSolid(at, length);
    return at;
  }

  /**
   * An append reserved at `[pos, pos+length)` failed. When nothing was reserved after it, the next
   * append starts where the file now ends instead; otherwise its range stays, reading as zeros.
   */
  unreserve(pos: number, length: number): void {
    if (this.#pending > 0 && this.#end === pos + length) this.#end = Math.max(pos, sizeAhead(this.#inode));
  }

  #cover(pos: number, length: number): QueuedRange {
    this.#lo = Math.min(this.#lo, pos);
    this.#hi = Math.max(this.#hi, pos + length);
    this.#end = Math.max(this.#end, pos + length);
    this.#extendSolid(pos, length);
    const range = { lo: pos, hi: pos + length };
    this.#ranges.add(range);
    return range;
  }

  #extendSolid(pos: number, length: number): void {
    if (pos <= this.#solid) this.#solid = Math.max(this.#solid, pos + length);
  }
}

const orders = new WeakMap<PoolInode, FileOrder>();

/** The queue of `inode`, shared by all its handles. */
export function orderOf(inode: PoolInode): FileOrder {
  let order = orders.get(inode);
  if (order === undefined) {
    order = new FileOrder(inode);
    orders.set(inode, order);
  }
  return order;
}

/** Queue one call on several files at once (clone, dedupe): it runs when every one of them is its turn. */
export function enterAll(inodes: readonly PoolInode[], kind: TurnKind): Turn {
  const unique = [...new Set(inodes)];
  if (unique.length === 1) return orderOf(unique[0] as PoolInode).enter(kind);
  const turns = unique.map((i) => orderOf(i).enter(kind));
  const waits = turns.map((t) => t.ready).filter((r): r is Promise<void> => r !== null);
  const befores = turns.map((t) => t.before).filter((r): r is Promise<void> => r !== null);
  return {
    ready: waits.length === 0 ? null : Promise.all(waits).then(() => undefined),
    pos: -1,
    done: (ok?: boolean) => {
      for (const t of turns) t.done(ok);
    },
    before: befores.length === 0 ? null : Promise.all(befores).then(() => undefined),
    settled: () => {
      for (const t of turns) t.settled();
    },
  };
}
