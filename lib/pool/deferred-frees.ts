import { comparePoints, type Claims, type CommitPoint } from './claims';

/** Runs, or blocks (1 MiB), that make a release worth asking the kernel after a commit (`due`). */
const DUE_RUNS = 32;
const DUE_BLOCKS = 256;

/**
 * DeferredFrees -- blocks a commit freed that a reader's snapshot may still reach (docs/design.md, "Live
 * readers"). A block freed by commit P is reachable from every snapshot older than P, so it waits here,
 * still used in the bitmap, tagged with the newest commit when it was freed (P or later: later only keeps it
 * longer), until no reader claims a point older than its tag. Runs are kept in the order they were freed,
 * so their tags only grow and a release takes a prefix.
 */
export class DeferredFrees {
  readonly #claims: Claims;
  /** The newest commit: the tag of what is freed now. */
  readonly #now: () => CommitPoint;
  #epochs: number[] = [];
  #seqs: number[] = [];
  #starts: number[] = [];
  #counts: number[] = [];
  #head = 0;
  /** Blocks waiting. */
  blocks = 0;
  /** Runs and blocks that still waited after the last release. */
  #runsAsked = 0;
  #blocksAsked = 0;

  constructor(claims: Claims, now: () => CommitPoint) {
    this.#claims = claims;
    this.#now = now;
  }

  /**
   * Worth a question to the kernel after a commit: a few dozen runs, or a megabyte, wait. A question costs
   * microseconds (a system call), as much as a small commit: asked after every freeing commit it slowed a
   * create-write-unlink loop by a third. Frees wait a little longer for it; an allocation that finds no room,
   * a checkpoint and `statfs` ask at once. Counted from what waited after the last release: while a reader
   * lags, what waits cannot go, and asking again after each commit (as often as overwrites commit) took a
   * fifth of the writer's time.
   */
  get due(): boolean {
    return this.runs - this.#runsAsked >= DUE_RUNS || this.blocks - this.#blocksAsked >= DUE_BLOCKS;
  }

  /** Does any reader hold a snapshot now? */
  anyClaim(): boolean {
    return this.#claims.anyBefore();
  }

  get runs(): number {
    return this.#starts.length - this.#head;
  }

  /** Blocks [b, b+n) were freed by the newest commit (or one before it). */
  push(b: number, n: number): void {
    this.pushAt(this.#now(), b, n);
  }

  /** Blocks [b, b+n) were freed by commit `p` or one before it (a tag older than the last one pushed is raised to it). */
  pushAt(p: CommitPoint, b: number, n: number): void {
    const k = this.#starts.length;
    let epoch = p.epoch;
    let seq = p.seq;
    if (k > this.#head) {
      const lastEpoch = this.#epochs[k - 1] as number;
      const lastSeq = this.#seqs[k - 1] as number;
      if (comparePoints({ epoch, seq }, { epoch: lastEpoch, seq: lastSeq }) < 0) {
        epoch = lastEpoch;
        seq = lastSeq;
      }
      // Freed at the same point right after the last run: one run.
      if (epoch === lastEpoch && seq === lastSeq && (this.#starts[k - 1] as number) + (this.#counts[k - 1] as number) === b) {
        this.#counts[k - 1] = (this.#counts[k - 1] as number) + n;
        this.blocks += n;
        return;
      }
    }
    this.#epochs.push(epoch);
    this.#seqs.push(seq);
    this.#starts.push(b);
    this.#counts.push(n);
    this.blocks += n;
  }

  /**
   * Hand to `free` every run no claim reaches any more. One question to the kernel when no reader holds a
   * point older than the newest run (every run goes: the case with no reader), two when one holds a point
   * older than the oldest run (nothing goes: the usual case while a reader lags), a short search for the
   * oldest claim otherwise. Returns the blocks freed.
   */
  release(free: (b: number, n: number) => void): number {
    const k = this.#starts.length;
    const h = this.#head;
    if (k === h) return 0;
    const newest = { epoch: this.#epochs[k - 1] as number, seq: this.#seqs[k - 1] as number };
    let oldest: CommitPoint | null = null;
    if (this.#claims.anyBefore(newest)) {
      if (this.#claims.anyBefore({ epoch: this.#epochs[h] as number, seq: this.#seqs[h] as number })) return this.#asked(0);
      oldest = this.#claims.oldest(newest);
    }
    let freed = 0;
    let i = this.#head;
    for (; i < k; i++) {
      if (oldest !== null && comparePoints({ epoch: this.#epochs[i] as number, seq: this.#seqs[i] as number }, oldest) > 0) break;
      free(this.#starts[i] as number, this.#counts[i] as number);
      freed += this.#counts[i] as number;
    }
    this.blocks -= freed;
    this.#head = i;
    if (i === k) this.#clear();
    else if (i > 1024 && i * 2 > k) this.#compact();
    return this.#asked(freed);
  }

  /** Every run waiting, [start, count] in release order: what tests look at. */
  *entries(): IterableIterator<[number, number]> {
    for (let i = this.#head; i < this.#starts.length; i++) yield [this.#starts[i] as number, this.#counts[i] as number];
  }

  /** What waits after a release: `due` counts from it. Returns `freed`. */
  #asked(freed: number): number {
    this.#runsAsked = this.runs;
    this.#blocksAsked = this.blocks;
    return freed;
  }

  #clear(): void {
    this.#epochs.length = 0;
    this.#seqs.length = 0;
    this.#starts.length = 0;
    this.#counts.length = 0;
    this.#head = 0;
  }

  #compact(): void {
    const h = this.#head;
    this.#epochs = this.#epochs.slice(h);
    this.#seqs = this.#seqs.slice(h);
    this.#starts = this.#starts.slice(h);
    this.#counts = this.#counts.slice(h);
    this.#head = 0;
  }
}
