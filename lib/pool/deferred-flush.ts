import { CopyFlags, type ByteRange, type DirectAccessOptions, type DirectAccessResult } from '../device/types';
import { PAGE_SIZE } from '../units';
import type { PoolDevice, PoolDeviceFacts } from './device';
import { storesHandedOver } from './in-place-gate';

/** A device whose write-back can run off the JavaScript thread (msync on the libuv pool). */
export type AsyncPersistDevice = PoolDevice & Required<Pick<PoolDevice, 'persistAsync'>>;

/** Whether the pool's promise methods defer write-back on `device`: page granularity (msync), with `persistAsync`. */
export function defersFlush(device: PoolDevice): device is AsyncPersistDevice {
  return typeof device.persistAsync === 'function' && device.info?.granularity === 'page';
}

/**
 * DeferredFlush -- the device as the pool's promise methods see it at page granularity. Stores go
 * into the page cache at once (NOFLUSH: a pwrite, or stores through the mapping) and their ranges
 * are remembered; `persist()` hands them to one msync job on the libuv pool and resolves once every
 * job started so far is done, so a caller is never told "durable" while an earlier store is not.
 * The stores made here are made on the JavaScript thread, in call order, so no job can write a stale
 * byte over a later one. `storeRoom` hands the jobs stores too, for bytes no one else touches until
 * they are durable (see storeByJob).
 *
 * The rest of the surface (reads, direct access, badblocks) is the device's own.
 */
export class DeferredFlush implements PoolDevice {
  readonly #inner: AsyncPersistDevice;
  /** [offset, length] pairs stored and not yet handed to a job. */
  #ranges: number[] = [];
  /**
   * Stores handed over (`storeRoom`) for the next job: device [offset, length] pairs, and their bytes in
   * order in `#gatherBytes[0, #gathered)`. The buffers are reused from job to job (the device copies them
   * when a job starts): a payload allocated per write would be freed by the garbage collector's threads,
   * whose frees contend with this thread's allocations for the allocator's lock.
   */
  #storePairs: number[] = [];
  #gatherBytes = new Uint8Array(0);
  #gathered = 0;
  #pairBuf = new Float64Array(0);
  /** Jobs in flight, with the ranges each makes durable. */
  readonly #jobs = new Map<Promise<void>, Float64Array>();
  /** Jobs started. */
  jobs = 0;
  /** Set by `quiesce` (a close): no job starts from then on. */
  #stopped = false;
  /** The job that starts when the one in flight ends, for the stores made meanwhile. */
  #next: Promise<void> | null = null;
  /**
   * The first write-back that failed (its pages may never reach the media, and msync reports an error
   * once): from then on nothing is durable for sure, so `durable()` rejects and the pool commits nothing.
   */
  failure: unknown = null;
  /**
   * The in-place gate's slots (in-place-gate.ts): slot GATHERED is cleared once the stores gathered for the
   * next job are in one, or made (`storesHandedOver`).
   */
  gathered: Int32Array | null = null;

  /**
   * The recovery write that clears poison, where the device has one (the DAX layer looks for it): a
   * write over poison must repair it on this path as on the synchronous one. Noted too, in case it
   * only reached the page cache.
   */
  readonly clearBadblocks?: (offset: number, length: number, data?: ArrayBufferView) => void;

  /**
   * The device's own, where it has one, and absent where it has not (as on the device): callers take
   * its absence as "use the general path", which handles poison; a stand-in over directAccess would throw EIO there.
   */
  readonly directAccessPages?: (pgoff: number, nrPages: number, options?: DirectAccessOptions) => number;

  constructor(inner: AsyncPersistDevice) {
    this.#inner = inner;
    const pages = inner.directAccessPages;
    if (pages !== undefined) this.directAccessPages = (pgoff, nrPages, options) => pages.call(inner, pgoff, nrPages, options);
    const clear = inner.clearBadblocks;
    if (clear !== undefined) {
      this.clearBadblocks = (offset, length, data) => {
        clear.call(inner, offset, length, data);
        this.#note(offset, length);
      };
    }
  }

  get size(): number {
    return this.#inner.size;
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  get info(): PoolDeviceFacts | undefined {
    return this.#inner.info;
  }

  /** True while some store is not yet known durable. */
  get busy(): boolean {
    return this.#ranges.length > 0 || this.#storePairs.length > 0 || this.#jobs.size > 0 || this.#next !== null;
  }

  directAccess(pgoff: number, nrPages: number, options?: DirectAccessOptions): DirectAccessResult {
    return this.#inner.directAccess(pgoff, nrPages, options);
  }

  copySafe(offset: number, target: ArrayBufferView): void {
    this.#inner.copySafe(offset, target);
  }

  badblocks(): ByteRange[] {
    return this.#inner.badblocks();
  }

  flush(offset: number, length: number): void {
    this.#note(offset, length);
  }

  drain(): void {}

  persist(offset: number, length: number): void {
    this.#note(offset, length);
  }

  copy(offset: number, src: ArrayBufferView, flags = 0): void {
    this.#inner.copy(offset, src, flags | CopyFlags.NOFLUSH);
    if ((flags & CopyFlags.NOFLUSH) === 0) this.#note(offset, src.byteLength);
  }

  fill(offset: number, value: number, length: number, flags = 0): void {
    this.#inner.fill(offset, value, length, flags | CopyFlags.NOFLUSH);
    if ((flags & CopyFlags.NOFLUSH) === 0) this.#note(offset, length);
  }

  #note(offset: number, length: number): void {
    if (length > 0) this.#ranges.push(offset, length);
  }

  /**
   * Every store made so far, durable. One job at a time: stores made while a job is in flight gather,
   * and go in one job when it ends (one write-back for many calls, as a group commit). Resolves once the
   * job holding this caller's stores, and every earlier one, is done.
   */
  durable(): Promise<void> {
    if (this.failure !== null) {
      // Never made: their writes fail, and a store made later, at a close, could land in place after the
      // writer let readers in (in-place-gate.ts).
      this.#gatheredGone();
      return Promise.reject(this.failure);
    }
    if (this.#ranges.length > 0 || this.#storePairs.length > 0) {
      if (this.#jobs.size === 0 && this.#next === null) this.#startJob();
      else this.#next ??= Promise.all(this.#jobs.keys()).then(noop, noop).then(() => {
        this.#next = null;
        this.#startJob();
      });
    }
    const waits: Promise<void>[] = [...this.#jobs.keys()];
    if (this.#next !== null) waits.push(this.#next.then(() => this.durable()));
    if (waits.length === 0) return Promise.resolve();
    return Promise.all(waits).then(noop);
  }

  #startJob(): void {
    const stores = this.#storePairs;
    // After a failure nothing more is durable for sure; after a close nothing may land.
    if (this.failure !== null || this.#stopped || (this.#ranges.length === 0 && stores.length === 0)) {
      // After a failure they are never made (see durable); a close makes them (quiesce).
      if (this.failure !== null) this.#gatheredGone();
      return;
    }
    const ranges = mergePages(this.#ranges, this.size);
    this.#ranges = [];
    if (stores.length === 0) {
      this.#track(started(() => this.#inner.persistAsync(ranges)), ranges);
      return;
    }
    // One job: the stores first (their ranges lead, the bytes fill them), then the write-back of every range.
    // The pair buffer is reused only by the next such job, which starts once this one has settled.
    const n = stores.length + ranges.length;
    if (this.#pairBuf.length < n) this.#pairBuf = new Float64Array(Math.max(n, 2 * this.#pairBuf.length, 256));
    const all = this.#pairBuf.subarray(0, n);
    all.set(stores);
    all.set(ranges, stores.length);
    const bytes = this.#gatherBytes.subarray(0, this.#gathered);
    const write = (this.#inner as Required<Pick<PoolDevice, 'writeRangesAsync'>>).writeRangesAsync;
    this.#track(started(() => write.call(this.#inner, all, bytes)), all);
    this.#gatheredGone();
  }

  /** A job in flight until it settles; the first that fails is the failure. */
  #track(job: Promise<void>, ranges: Float64Array): void {
    this.jobs++;
    this.#jobs.set(job, ranges);
    job.then(
      () => this.#jobs.delete(job),
      (e: unknown) => {
        this.#jobs.delete(job);
        this.failure ??= e;
      },
    );
  }

  /**
   * Write `bytes` at `offset` and make them durable, the pwrite too off the thread where the device can
   * (writeAsync): for a journal record, which nothing reads while it is in flight. After the jobs before
   * it, and only if `wanted()` still says so then; later `durable()` calls wait for it.
   */
  writeThrough(offset: number, bytes: Uint8Array, wanted: () => boolean): Promise<void> {
    const inner = this.#inner;
    const write = inner.writeAsync;
    if (write === undefined) {
      this.copy(offset, bytes);
      return this.durable();
    }
    // Asked once the jobs before it are done, in the same step as the write is handed over: a synchronous
    // commit that took the record over meanwhile (`wanted` false) must not be overwritten by it later.
    const job = Promise.all(this.#jobs.keys()).then(noop, noop).then(() => (wanted() ? write.call(inner, offset, bytes) : undefined));
    this.#track(job, mergePages([offset, bytes.length], this.size));
    return this.durable();
  }

  /** The gathered stores are in a job, made, or dropped: none waits, and slot GATHERED says so (in-place-gate.ts). */
  #gatheredGone(): void {
    this.#storePairs = [];
    this.#gathered = 0;
    storesHandedOver(this.gathered);
  }

  /** Whether `storeRoom` can hand stores to the jobs (the device writes ranges off the thread). */
  get storesByJob(): boolean {
    return typeof this.#inner.writeRangesAsync === 'function';
  }

  /**
   * Room, zeroed, for `length` bytes the next job stores (pwrite) in order over `pairs` ([offset, length]…)
   * before it writes back what it covers: a promise write's stores, which then never fault on this thread
   * (storeByJob). Fill it at once (a later call may move the buffer), then `durable()` resolves once they are
   * durable. Only for stores nothing else reads or writes until then (blocks not yet mapped, or bytes of a
   * write in its file's turn).
   */
  storeRoom(pairs: readonly number[], length: number): Uint8Array {
    for (const x of pairs) this.#storePairs.push(x);
    const need = this.#gathered + length;
    if (need > this.#gatherBytes.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.#gatherBytes.length, 256 * 1024));
      grown.set(this.#gatherBytes.subarray(0, this.#gathered));
      this.#gatherBytes = grown;
    }
    const room = this.#gatherBytes.subarray(this.#gathered, need);
    room.fill(0);
    this.#gathered = need;
    return room;
  }

  /** Blocks until no job of the device is writing: a synchronous commit must not race one. */
  waitJobs(): void {
    this.#inner.waitJobs?.();
  }

  /**
   * For a close: the stores of jobs made (`storeNow`), every store made durable, and no job started from now
   * on, so nothing lands after the close's last commit.
   */
  quiesce(): void {
    this.#stopped = true;
    this.storeNow();
    if (this.busy) this.persistNow();
  }

  /**
   * Waits for the jobs in flight and makes here the stores still gathered for the next job (their write-back
   * goes with it): every store handed over is then in place, for a reader about to read them (in-place-gate.ts).
   */
  storeNow(): void {
    this.waitJobs();
    const pairs = this.#storePairs;
    for (let i = 0, from = 0; i < pairs.length; i += 2) {
      const n = pairs[i + 1] as number;
      this.copy(pairs[i] as number, this.#gatherBytes.subarray(from, from + n));
      from += n;
    }
    this.#gatheredGone();
  }

  /**
   * Make every store so far durable on this thread, those of jobs in flight included (an msync of
   * pages under write-back waits for it): for a synchronous commit, which cannot wait for a job.
   */
  persistNow(): void {
    const pending = [...this.#ranges];
    for (const ranges of this.#jobs.values()) for (const x of ranges) pending.push(x);
    this.#ranges = [];
    const merged = mergePages(pending, this.size);
    try {
      for (let i = 0; i < merged.length; i += 2) this.#inner.persist(merged[i] as number, merged[i + 1] as number);
    } catch (e) {
      this.failure ??= e;
      throw e;
    }
  }
}

/** `[offset, length]` pairs widened to whole pages (within `limit`), sorted and merged: one msync per run of pages. */
export function mergePages(pairs: readonly number[], limit: number): Float64Array {
  const spans: [number, number][] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const start = Math.floor((pairs[i] as number) / PAGE_SIZE) * PAGE_SIZE;
    spans.push([start, Math.min(limit, Math.ceil(((pairs[i] as number) + (pairs[i + 1] as number)) / PAGE_SIZE) * PAGE_SIZE)]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [start, end] of spans) {
    const k = out.length;
    if (k > 0 && start <= (out[k - 2] as number) + (out[k - 1] as number)) out[k - 1] = Math.max(out[k - 1] as number, end - (out[k - 2] as number));
    else out.push(start, end - start);
  }
  return Float64Array.from(out);
}

function noop(): void {}

/**
 * A job the device refused outright (it threw instead of returning a promise) is a job that failed: the
 * failure of the flush, as a rejection is. Thrown out of durable(), it would leave a store job's chunk
 * pending for ever and its file's later calls waiting on it. Whatever the throw (a bug too), the ranges it
 * was given are already off the list and nothing else would make them durable: the flush must fail.
 */
function started(start: () => Promise<void>): Promise<void> {
  try {
    return start();
  } catch (e) {
    return Promise.reject(e);
  }
}
