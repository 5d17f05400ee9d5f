import { errnoError, internalError } from '../errors';
import { PMD_PAGES } from '../iomap/constants';
import type { DeferredFrees } from './deferred-frees';
import type { ExtentMap } from './extent-map';
import type { InPlaceGate } from './in-place-gate';
import { NO_BLOCK } from './layout';

/** Who takes blocks: a file's inode. A group where an open file is growing is left to it. */
export interface AllocOwner {
  readonly opens: number;
}

/** A file's first allocation shorter than this (64 KiB) is packed with other small files. */
const STREAM_PAGES = 16;

/** Append run [b, b+n) to a list of runs, extending the last one when it ends at b (appends). */
function addRun(runs: number[], b: number, n: number): void {
  const k = runs.length;
  if (k > 0 && (runs[k - 2] as number) + (runs[k - 1] as number) === b) runs[k - 1] = (runs[k - 1] as number) + n;
  else runs.push(b, n);
}

function inRuns(runs: readonly number[], b: number): boolean {
  for (let i = 0; i < runs.length; i += 2) if (b >= (runs[i] as number) && b < (runs[i] as number) + (runs[i + 1] as number)) return true;
  return false;
}

/**
 * Allocator -- the pool's block bitmap and the reference counts of shared blocks, plus what changed
 * since the last commit. Bits of the data area only are handed out. A block freed by an uncommitted
 * change stays set in the bitmap until the commit is durable (`release`), so the persistent state
 * never references a block that was reused. CoW destinations are `reserve`d: in use, but not yet
 * part of any change to commit.
 */
export class Allocator {
  /** The pool's blocks and their bits: replaced, longer, when the pool grows (`grow`). */
  blocks: number;
  bitmap: Uint32Array;
  /** Reference counts above one; every other used data block has exactly one owner. */
  readonly shared = new Map<number, number>();
  /** Committed-to-be: runs allocated, runs freed (still set), blocks whose refcount changed. */
  readonly allocRuns: number[] = [];
  readonly freeRuns: number[] = [];
  readonly refChanged = new Set<number>();
  /** Blocks whose reference count changed since the last checkpoint: its shared tree is behind for them. */
  readonly treeRefs = new Set<number>();
  /**
   * The same, for a commit written but not yet known durable (group commit): its frees stay set and
   * its reference changes still force CoW until `release`.
   */
  readonly #flightFrees: number[] = [];
  readonly #flightRefs = new Set<number>();
  readonly reserved: number[] = [];
  /**
   * Frees that wait for readers' snapshots (deferred-frees.ts): set for a writer whose device carries
   * claims. Null: a committed free is free at once.
   */
  later: DeferredFrees | null = null;
  /**
   * References dropped from shared blocks while readers may hold snapshots (`later` set): a reader's
   * snapshot may still map the block through the file that dropped it, so the owners left copy on write
   * until no claim is older than the drop (`ghosts`). Dropped since the last commit; in a commit in flight.
   */
  readonly #dropsNow: number[] = [];
  readonly #dropsFlight: number[] = [];
  /** Shared blocks' dropped references a reader may still see, by block, and the queue that lets them go. */
  readonly #ghosts = new Map<number, number>();
  ghostsLater: DeferredFrees | null = null;
  /**
   * A writer's gate for writes over committed blocks (in-place-gate.ts), on a device readers can share: while
   * readers may see those blocks (`copying`), every block not allocated since the last commit began is copied
   * on write, as a shared one is.
   */
  inPlace: InPlaceGate | null = null;
  /**
   * Copies on write made (ops.ts): a write that made one moved its data to new blocks, which only a commit
   * makes the file's, so even a handle that is not `sync` commits it (file.ts).
   */
  copies = 0;
  /** Runs the journal's replay freed, collected while a writer's load needs them (load-frees.ts); else null. */
  replayFrees: number[] | null = null;
  /** A checkpoint being written while readers hold snapshots: what it frees stays used in its bitmap. */
  holdBack = false;
  free = 0;
  /** Blocks data allocations must leave free (room for the next checkpoint). */
  keep = 0;
  /** Free data blocks in each 2 MiB group (PMD_PAGES blocks); a group is wholly free at PMD_PAGES. */
  groupFree: Uint16Array;
  /** Groups wholly free. */
  freeGroups = 0;
  private readonly lo: number;
  private hi: number;
  /** Groups where an open file started a range and is growing: packing leaves them to it. */
  readonly #claims = new Map<number, AllocOwner>();
  /**
   * No group below this one is wholly free; none below `#packLow` is partly used. Placement takes the lowest
   * group that fits, so that the pool's working set stays compact: a writer whose frees wait for readers
   * (deferred-frees.ts) would otherwise march through every block of the pool, and a block first touched
   * costs a page fault in each process that maps it (4 KiB at a time on a tmpfs or fsdax mapping).
   */
  #freeLow = 0;
  #packLow = 0;
  /**
   * A bit for each group that is partly used (some of its data blocks free, not all): packing looks for room
   * 32 groups a word, so that full groups between the mark and the first one it may use (past a group an
   * open file is growing in, which the mark stays at) cost little on a large, nearly full pool.
   */
  #partly: Uint32Array;

  constructor(blocks: number, dataLo: number, dataHi: number) {
    this.blocks = blocks;
    this.bitmap = new Uint32Array(Math.ceil(blocks / 32));
    this.lo = dataLo;
    this.hi = dataHi;
    this.groupFree = new Uint16Array(Math.ceil(blocks / PMD_PAGES));
    for (let g = 0; g < this.groupFree.length; g++) {
      this.groupFree[g] = Math.max(0, Math.min(dataHi, (g + 1) * PMD_PAGES) - Math.max(dataLo, g * PMD_PAGES));
      if (this.groupFree[g] === PMD_PAGES) this.freeGroups++;
    }
    this.#partly = this.#partlyUsed();
  }

  /** The bits of `#partly`, made from the free counts. */
  #partlyUsed(): Uint32Array {
    const gf = this.groupFree;
    const bits = new Uint32Array(Math.ceil(gf.length / 32));
    for (let g = 0; g < gf.length; g++) {
      const free = gf[g] as number;
      if (free > 0 && free < PMD_PAGES) bits[g >>> 5] = (bits[g >>> 5] as number) | (1 << (g & 31));
    }
    return bits;
  }

  /**
   * The pool grew to `blocks` blocks, its data area now ending at `dataHi`: `bitmap` (over the new blocks) is
   * the bitmap in force, and the free counts are made again from it. The change lists carry over as they are.
   */
  grow(blocks: number, dataHi: number, bitmap: Uint32Array): void {
    this.blocks = blocks;
    this.hi = dataHi;
    this.bitmap = bitmap;
    this.groupFree = new Uint16Array(Math.ceil(blocks / PMD_PAGES));
    this.recount();
  }

  used(b: number): boolean {
    return ((this.bitmap[b >>> 5] as number) & (1 << (b & 31))) !== 0;
  }

  /** Set the bits of `[b, b+n)` as loaded from media; recount free blocks with `recount`. */
  markUsed(b: number, n: number): void {
    this.changeBits(b, n, true);
  }

  private clear(b: number, n: number): void {
    this.changeBits(b, n, false);
  }

  /**
   * A replayed record's allocation or free of `[b, b+n)`, the free count kept exact as it goes: a reader's
   * refresh replays records into a state that `recount` does not follow, as a load's replay does.
   */
  replayRun(b: number, n: number, used: boolean): void {
    const changed = this.changeBits(b, n, used);
    this.free += used ? -changed : changed;
  }

  /**
   * Sets or clears `[b, b+n)` a 32-bit word at a time (an open pool marks every extent it loads), and
   * counts the data blocks that changed in their group. Returns how many data blocks changed.
   */
  private changeBits(b: number, n: number, on: boolean): number {
    const bm = this.bitmap;
    const gf = this.groupFree;
    let total = 0;
    for (let i = b, end = b + n; i < end; i += 32 - (i & 31)) {
      const w = i >>> 5;
      const old = bm[w] as number;
      const mask = wordMask(i, end);
      const changed = (on ? mask & ~old : mask & old) & this.dataMask(w);
      bm[w] = on ? old | mask : old & ~mask;
      if (changed === 0) continue;
      const g = i >>> 9;
      const was = gf[g] as number;
      const count = popcount32(changed);
      total += count;
      const now = was + (on ? -count : count);
      gf[g] = now;
      if (was === PMD_PAGES) this.freeGroups--;
      else if (now === PMD_PAGES) {
        this.freeGroups++;
        if (g < this.#freeLow) this.#freeLow = g;
      }
      const partly = this.#partly;
      if (now > 0 && now < PMD_PAGES) {
        partly[g >>> 5] = (partly[g >>> 5] as number) | (1 << (g & 31));
        if (g < this.#packLow) this.#packLow = g;
      } else {
        partly[g >>> 5] = (partly[g >>> 5] as number) & ~(1 << (g & 31));
      }
    }
    return total;
  }

  /** The bits of word `w` that are data blocks (all of them but at the ends of the data area). */
  private dataMask(w: number): number {
    // Multiplications, not shifts: block numbers reach 2^32 - 2, past int32.
    const first = w * 32;
    if (first >= this.lo && first + 32 <= this.hi) return 0xffffffff;
    const from = Math.max(first, this.lo);
    const to = Math.min(first + 32, this.hi);
    return to > from ? wordMask(from, to) : 0;
  }

  /** Free blocks of the data area and of each group, by a population count of its words (after the bitmap was loaded). */
  recount(): void {
    const gf = this.groupFree;
    gf.fill(0);
    for (let b = this.lo; b < this.hi; b += 32 - (b & 31)) {
      const g = b >>> 9;
      gf[g] = (gf[g] as number) + popcount32(~(this.bitmap[b >>> 5] as number) & wordMask(b, this.hi));
    }
    let free = 0;
    let wholly = 0;
    for (let g = 0; g < gf.length; g++) {
      free += gf[g] as number;
      if (gf[g] === PMD_PAGES) wholly++;
    }
    this.free = free;
    this.freeGroups = wholly;
    this.#freeLow = 0;
    this.#packLow = 0;
    this.#partly = this.#partlyUsed();
  }

  refs(b: number): number {
    return this.shared.size === 0 ? 1 : this.shared.get(b) ?? 1;
  }

  /**
   * Must a write to `b` copy it first? Yes while others own it, and also while its count changed
   * since the last commit: a CoW that dropped a reference is not durable yet, so on the media the
   * other owner still maps the block and an in-place write would change that owner's data. And while
   * readers may see it (`inPlace.copying()`: committed, not young), for a change a reader could see (`forReaders`:
   * PoolInode.seenByReaders).
   */
  cowNeeded(b: number, forReaders: boolean): boolean {
    return (
      (forReaders && this.inPlace !== null && this.inPlace.copying() && !this.#young(b)) ||
      this.refs(b) > 1 ||
      (this.refChanged.size > 0 && this.refChanged.has(b)) ||
      (this.#flightRefs.size > 0 && this.#flightRefs.has(b)) ||
      (this.#ghosts.size > 0 && this.#ghosts.has(b))
    );
  }

  /** Does a write to any of blocks [b, b+n) copy first (`cowNeeded`)? */
  cowNeededIn(b: number, n: number, forReaders: boolean): boolean {
    if (!this.anyCowFor(forReaders)) return false;
    for (let i = 0; i < n; i++) if (this.cowNeeded(b + i, forReaders)) return true;
    return false;
  }

  /**
   * False when no block needs a CoW for a change readers could see, or not (`cowNeeded`): the common case,
   * nothing ever cloned and no reader open.
   */
  anyCowFor(forReaders: boolean): boolean {
    return (forReaders && this.inPlace !== null && this.inPlace.copying()) || this.shared.size > 0 || this.refChanged.size > 0 || this.#flightRefs.size > 0 || this.#ghosts.size > 0;
  }

  /**
   * Must a store to one of blocks [b, b+n), written in place because young, be made on the thread rather than
   * by a store job? Yes while readers may see it and the gate copies (`forReaders`, `inPlace.copying()`): a
   * synchronous commit made before the job lands would name the block, and a reader let in then would see the
   * job's bytes arrive under its snapshot. (Holding the lock, the job is the gate's: a reader waits for it.)
   */
  youngBeforeJob(b: number, n: number, forReaders: boolean): boolean {
    if (!forReaders || this.inPlace === null || !this.inPlace.copying()) return false;
    for (let i = 0; i < n; i++) if (this.#young(b + i)) return true;
    return false;
  }

  /**
   * Allocated since the last commit began (or reserved for a copy on write): no record names the block yet, so
   * no reader's snapshot reaches it, and it is written in place whatever the gate says.
   */
  #young(b: number): boolean {
    return inRuns(this.allocRuns, b) || inRuns(this.reserved, b);
  }

  /** Length of the free run at `b`, at most `want`. */
  private runAt(b: number, want: number): number {
    let n = 0;
    while (n < want && b + n < this.hi && !this.used(b + n)) n++;
    return n;
  }

  /**
   * 1..`want` contiguous free blocks for file page `page` (of `owner`, the file's inode, when there is
   * one), placed by the alignment policy (docs/design.md, "Keeping large files aligned"): at `goal`
   * when that extends the file in place without breaking its 2 MiB alignment; a 2 MiB range of the file
   * that begins here starts a wholly free group; the rest is packed into groups already in use. Returns
   * [first, count], or null when nothing is free beyond the checkpoint reserve.
   */
  take(want: number, goal: number, page: number, owner: AllocOwner | null, reserve = false): [number, number] | null {
    if (want > this.free - this.keep) this.room(want);
    const budget = this.free - this.keep;
    if (budget <= 0) return null;
    want = Math.min(want, budget);
    const [b, n] = this.place(want, goal, page, owner);
    if (n === 0) return null;
    // A run that keeps the file's colour may reach into the next group: the file goes on growing there.
    if (owner !== null && (b - page) % PMD_PAGES === 0) this.#claims.set((b + n - 1) >>> 9, owner);
    this.markUsed(b, n);
    this.free -= n;
    if (reserve) this.reserved.push(b, n);
    else addRun(this.allocRuns, b, n);
    return [b, n];
  }

  private place(want: number, goal: number, page: number, owner: AllocOwner | null): [number, number] {
    const colour = page % PMD_PAGES;
    const toRangeEnd = PMD_PAGES - colour;
    const inPlace = goal >= this.lo && goal < this.hi && !this.used(goal);
    // In place with the file's colour: the range stays contiguous and aligned, and may go on into the next
    // (a range starting here stays whole only if its group is wholly free).
    if (inPlace && goal % PMD_PAGES === colour && (colour !== 0 || this.groupFree[goal >>> 9] === PMD_PAGES)) {
      return [goal, this.wholeGroups(goal, this.runAt(goal, want))];
    }
    // A range starts: in a wholly free group it can stay contiguous to its end. A file's first range is
    // only a guess (most files stay small, and a small file there leaves a group partly used): it gets a
    // free group while at least half the free space is in free groups, and its first write is not tiny.
    if (colour === 0 && (page > 0 || (want >= STREAM_PAGES && this.freeGroups * PMD_PAGES * 2 >= this.free))) {
      const g = this.freeGroup();
      if (g >= 0) return [g * PMD_PAGES, this.wholeGroups(g * PMD_PAGES, this.runAt(g * PMD_PAGES, want))];
    }
    // The range is already broken (or nothing is free to keep it whole): fill it to its end, no further,
    // so that the next range gets its own chance.
    if (inPlace) return [goal, this.runAt(goal, Math.min(want, toRangeEnd))];
    return this.pack(Math.min(want, toRangeEnd), owner);
  }

  /**
   * The part of the free run [b, b+n) that goes into the next groups only while they are wholly free:
   * a range begun in a group that others use could not stay contiguous to its end.
   */
  private wholeGroups(b: number, n: number): number {
    for (let e = ((b >>> 9) + 1) * PMD_PAGES; e < b + n; e += PMD_PAGES) {
      if (this.groupFree[e >>> 9] !== PMD_PAGES) return e - b;
    }
    return n;
  }

  /**
   * A wholly free group, reserved whole (its first block), for a file range moved there (relocate.ts);
   * -1 when none is free, or when taking one would leave less than the checkpoint reserve.
   */
  takeGroup(): number {
    if (!this.room(PMD_PAGES)) return -1;
    const g = this.freeGroup();
    if (g < 0) return -1;
    const b = g * PMD_PAGES;
    this.markUsed(b, PMD_PAGES);
    this.free -= PMD_PAGES;
    this.reserved.push(b, PMD_PAGES);
    return b;
  }

  /** The lowest wholly free group (every block in the data area and free); -1 if none. */
  private freeGroup(): number {
    const gf = this.groupFree;
    if (this.freeGroups === 0) return -1;
    for (let g = this.#freeLow; g < gf.length; g++) {
      if (gf[g] === PMD_PAGES) {
        this.#freeLow = g;
        return g;
      }
    }
    return -1;
  }

  /**
   * A small allocation: the lowest free run of the lowest group in use that has room and that no open file
   * is growing in (its claim), else the start of a free group, else any free run.
   */
  private pack(want: number, owner: AllocOwner | null): [number, number] {
    const gf = this.groupFree;
    const partly = this.#partly;
    let low = -1;
    for (let w = this.#packLow >>> 5; w < partly.length; w++) {
      // The partly used groups of this word, from the mark on.
      let bits = (partly[w] as number) & (w === this.#packLow >>> 5 ? -1 << (this.#packLow & 31) : -1);
      while (bits !== 0) {
        const g = w * 32 + 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        if (low < 0) low = g;
        if (this.claimed(g, owner)) continue;
        const b = this.firstFreeIn(g);
        if (b < 0) continue;
        this.#packLow = low;
        return [b, this.runAt(b, Math.min(want, (g + 1) * PMD_PAGES - b))];
      }
    }
    this.#packLow = low < 0 ? gf.length : low;
    const free = this.freeGroup();
    if (free >= 0) return [free * PMD_PAGES, this.runAt(free * PMD_PAGES, want)];
    // Only claimed groups have room: growth of open files yields to running out of space.
    for (let b = this.lo; b < this.hi; b += 32 - (b & 31)) {
      if ((this.bitmap[b >>> 5] as number) === 0xffffffff) continue;
      const at = this.firstFreeIn(b >>> 9);
      if (at >= 0) return [at, this.runAt(at, want)];
    }
    return [-1, 0];
  }

  /** Is an open file other than `owner` growing in group `g`? Drops the claim of a file no longer open. */
  private claimed(g: number, owner: AllocOwner | null): boolean {
    const claim = this.#claims.get(g);
    if (claim === undefined || claim === owner) return false;
    if (claim.opens > 0) return true;
    this.#claims.delete(g);
    return false;
  }

  /** The lowest free data block of group `g`, or -1. */
  private firstFreeIn(g: number): number {
    const from = Math.max(this.lo, g * PMD_PAGES);
    const to = Math.min(this.hi, (g + 1) * PMD_PAGES);
    for (let b = from; b < to; b += 32 - (b & 31)) {
      const free = ~(this.bitmap[b >>> 5] as number) & wordMask(b, to);
      if (free !== 0) return b - (b & 31) + (31 - Math.clz32(free & -free));
    }
    return -1;
  }

  /** `take` for file page `page` of `inode`: the goal is the block after the previous page's. */
  takeForPage(inode: AllocOwner & { readonly extents: ExtentMap }, page: number, want: number, reserve = false): [number, number] | null {
    const prev = page > 0 ? inode.extents.blockAt(page - 1) : NO_BLOCK;
    return this.take(want, prev === NO_BLOCK ? -1 : prev + 1, page, inode, reserve);
  }

  /**
   * `n` contiguous free blocks, the lowest such run (a bitmap copy), marked used; ignores `keep`. Not
   * journalled: the checkpoint written into it records it in its own bitmap. -1 when there is no such run.
   */
  takeContiguous(n: number): number {
    for (let b = this.lo; b + n <= this.hi; ) {
      if ((b & 31) === 0 && (this.bitmap[b >>> 5] as number) === 0xffffffff) {
        b += 32;
        continue;
      }
      const run = this.runAt(b, n);
      if (run === n) {
        this.markUsed(b, n);
        this.free -= n;
        return b;
      }
      b += run + 1;
    }
    return -1;
  }

  /**
   * One block for a metadata page, packed like a small allocation and ignoring `keep` (the reserve rule
   * kept room for the checkpoint it belongs to). Not journalled: the checkpoint written into it records it
   * in its own bitmap. Throws ENOSPC when no block is free.
   */
  takeMetaBlock(): number {
    if (this.free === 0) this.reclaim();
    const [b, n] = this.free > 0 ? this.pack(1, null) : [-1, 0];
    if (n === 0) throw errnoError('ENOSPC', 'fsync');
    this.markUsed(b, 1);
    this.free--;
    return b;
  }

  /** A reserved run became part of a change (CoW end): it commits with the next record. */
  confirm(b: number, n: number): void {
    this.dropReserved(b, n);
    addRun(this.allocRuns, b, n);
  }

  /** A reserved run was not used: free at once, it was never in a commit. */
  unreserve(b: number, n: number): void {
    this.dropReserved(b, n);
    this.clear(b, n);
    this.free += n;
  }

  private dropReserved(b: number, n: number): void {
    for (let i = 0; i < this.reserved.length; i += 2) {
      const rb = this.reserved[i] as number;
      const rn = this.reserved[i + 1] as number;
      if (b >= rb && b + n <= rb + rn) {
        const parts: number[] = [];
        if (b > rb) parts.push(rb, b - rb);
        if (b + n < rb + rn) parts.push(b + n, rb + rn - (b + n));
        this.reserved.splice(i, 2, ...parts);
        return;
      }
    }
    throw internalError(`pool allocator: run ${b}+${n} was not reserved`);
  }

  /** One more owner of each block of `[b, b+n)`. */
  ref(b: number, n: number): void {
    for (let i = b; i < b + n; i++) {
      this.shared.set(i, this.refs(i) + 1);
      this.refChanged.add(i);
      this.treeRefs.add(i);
    }
  }

  /** One owner fewer for each block of `[b, b+n)`; a block nobody owns is freed at the next commit. */
  unref(b: number, n: number): void {
    let runStart = -1;
    for (let i = b; i <= b + n; i++) {
      let freed = false;
      if (i < b + n) {
        const r = this.refs(i);
        if (r > 2) this.shared.set(i, r - 1);
        else if (r === 2) this.shared.delete(i);
        else freed = true;
        if (r > 1) {
          this.refChanged.add(i);
          this.treeRefs.add(i);
          if (this.ghostsLater !== null) this.#dropsNow.push(i);
        }
      }
      if (freed && runStart < 0) runStart = i;
      if (!freed && runStart >= 0) {
        addRun(this.freeRuns, runStart, i - runStart);
        runStart = -1;
      }
    }
  }

  /** A commit begun is not yet known durable: its frees or reference changes wait for `release`. */
  get flying(): boolean {
    return this.#flightFrees.length > 0 || this.#flightRefs.size > 0;
  }

  /** A commit written and durable at once, with none in flight: freed runs become allocatable now. */
  committed(): void {
    if (this.freeRuns.length === 0 && this.allocRuns.length === 0 && this.refChanged.size === 0) return;
    for (let i = 0; i < this.freeRuns.length; i += 2) this.#freed(this.freeRuns[i] as number, this.freeRuns[i + 1] as number);
    this.#haunt(this.#dropsNow);
    const any = this.freeRuns.length > 0;
    this.freeRuns.length = 0;
    this.allocRuns.length = 0;
    this.refChanged.clear();
    if (any && this.later !== null && this.later.due) this.reclaim();
  }

  /** The change lists went into a commit being written: they empty, and wait for `release`. */
  beginFlight(): void {
    this.allocRuns.length = 0;
    for (let i = 0; i < this.freeRuns.length; i++) this.#flightFrees.push(this.freeRuns[i] as number);
    this.freeRuns.length = 0;
    for (const b of this.refChanged) this.#flightRefs.add(b);
    if (this.refChanged.size > 0) this.refChanged.clear();
    for (const b of this.#dropsNow) this.#dropsFlight.push(b);
    this.#dropsNow.length = 0;
  }

  /** Every commit begun is durable: the runs they freed become allocatable. */
  release(): void {
    const frees = this.#flightFrees;
    for (let i = 0; i < frees.length; i += 2) this.#freed(frees[i] as number, frees[i + 1] as number);
    this.#haunt(this.#dropsFlight);
    const any = frees.length > 0;
    frees.length = 0;
    if (this.#flightRefs.size > 0) this.#flightRefs.clear();
    if (any && this.later !== null && this.later.due) this.reclaim();
  }

  /** Free now a run no committed state references (a tree page never committed, a checkpoint abandoned, a replayed free). */
  dropNow(b: number, n: number): void {
    this.clear(b, n);
    this.free += n;
  }

  /** A run the newest commit stopped referencing: free once no reader's snapshot reaches it (`reclaim`). */
  retire(b: number, n: number): void {
    this.#freed(b, n);
  }

  #freed(b: number, n: number): void {
    if (this.later === null) this.dropNow(b, n);
    else this.later.push(b, n);
  }

  /**
   * The references `drops` dropped are committed: each stays a ghost until no claim is older than now. With
   * no reader at all (one question to the kernel, on commits that dropped shared references) there is none.
   */
  #haunt(drops: number[]): void {
    if (drops.length === 0 || this.ghostsLater === null) return;
    if (!this.ghostsLater.anyClaim()) {
      drops.length = 0;
      return;
    }
    for (const b of drops) {
      this.#ghosts.set(b, (this.#ghosts.get(b) ?? 0) + 1);
      this.ghostsLater.push(b, 1);
    }
    drops.length = 0;
  }

  /**
   * A change in place is about to rewrite `b` (a truncate zeroing the tail of its new last block): while
   * readers hold claims, whose snapshots may map `b`, it is copied on write instead, as a block whose other
   * reference was dropped is (a ghost until no claim is older than now). False, with nothing changed, when
   * no reader holds a claim (one question to the kernel).
   */
  keepForReaders(b: number): boolean {
    if (this.ghostsLater === null || !this.ghostsLater.anyClaim()) return false;
    this.#ghosts.set(b, (this.#ghosts.get(b) ?? 0) + 1);
    this.ghostsLater.push(b, 1);
    return true;
  }

  readonly #unhaunt = (b: number, n: number): void => {
    for (let i = b; i < b + n; i++) {
      const k = this.#ghosts.get(i) ?? 0;
      if (k > 1) this.#ghosts.set(i, k - 1);
      else this.#ghosts.delete(i);
    }
  };

  /** The deferred frees no reader's snapshot reaches any more become free. Returns the blocks freed. */
  reclaim(): number {
    if (this.ghostsLater !== null && this.ghostsLater.runs > 0) this.ghostsLater.release(this.#unhaunt);
    return this.later === null ? 0 : this.later.release(this.#dropNow);
  }

  readonly #dropNow = (b: number, n: number): void => this.dropNow(b, n);

  /**
   * Whether `need` blocks can be allocated beyond the checkpoint reserve: when they cannot, the deferred frees
   * that readers released meanwhile are reclaimed first.
   */
  room(need: number): boolean {
    if (need <= this.free - this.keep) return true;
    if ((this.later !== null && this.later.blocks > 0) || (this.ghostsLater !== null && this.ghostsLater.runs > 0)) this.reclaim();
    return need <= this.free - this.keep;
  }

  /** Freed blocks that wait for readers (deferred frees); 0 in a reader, which frees nothing. */
  get waitingForReaders(): number {
    return this.later?.blocks ?? 0;
  }

  /** An ENOSPC raised while frees wait for readers says so: what an operator needs to see why. */
  noSpace<E extends Error>(e: E): E {
    const n = this.waitingForReaders;
    if (n > 0) e.message += ` (${n} freed blocks wait for readers: snapshots, and files or regions readers keep open, still reach them)`;
    return e;
  }

  /** Blocks the media's bitmap keeps used for readers: deferred, and with `holdBack` what this commit frees. */
  heldForReaders(retired: number): number {
    let n = this.waitingForReaders;
    if (!this.holdBack) return n;
    n += retired;
    for (let i = 1; i < this.freeRuns.length; i += 2) n += this.freeRuns[i] as number;
    for (let i = 1; i < this.#flightFrees.length; i += 2) n += this.#flightFrees[i] as number;
    return n;
  }

  /** The bitmap as it will be once pending frees are released, without reserved runs and `also`. */
  snapshot(also: readonly number[]): Uint32Array {
    const out = this.bitmap.slice();
    const unset = (runs: readonly number[]): void => {
      for (let i = 0; i < runs.length; i += 2) setBits(out, runs[i] as number, runs[i + 1] as number, false);
    };
    // Held back, what this commit frees stays used on the media: a writer after a crash must not reuse it
    // while a reader's snapshot reaches it.
    if (!this.holdBack) {
      unset(this.freeRuns);
      unset(this.#flightFrees);
    }
    unset(this.reserved);
    unset(also);
    return out;
  }
}

/** The bits of `[i, end)` that lie in the 32-bit word holding bit `i`. */
export function wordMask(i: number, end: number): number {
  const bit = i & 31;
  const take = Math.min(32 - bit, end - i);
  return take === 32 ? 0xffffffff : ((1 << take) - 1) << bit;
}

/** Set (`on`) or clear the bits of `[b, b+n)` in `bits`, a 32-bit word at a time. */
export function setBits(bits: Uint32Array, b: number, n: number, on = true): void {
  for (let i = b, end = b + n; i < end; i += 32 - (i & 31)) {
    const w = i >>> 5;
    const mask = wordMask(i, end);
    bits[w] = on ? (bits[w] as number) | mask : (bits[w] as number) & ~mask;
  }
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
