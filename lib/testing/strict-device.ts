import { filledRanges } from '../device/validate';
import { CopyFlags, type ByteRange, type WriteRangesOptions } from '../device/types';
import { bytesOf } from '../device/validate';
import { CACHELINE_SIZE, PAGE_SIZE } from '../units';
import { outOfRangeError } from '../errors';
import { MemoryDevice } from './memory-device';

/** Bytes in one unit of write-back (CACHELINE_SIZE, under the name the testing API exports). */
export const LINE_SIZE = CACHELINE_SIZE;

/** Thrown by the drain `crashAt` chose, and by every persistence call after it: the power is gone. */
export class SimulatedCrash extends Error {
  /** The drain (counted from 1) that the crash interrupted. */
  readonly drain: number;
  readonly code = 'ERR_PMEMDAX_SIMULATED_CRASH';

  constructor(drain: number) {
    super(`simulated crash at drain ${drain}`);
    this.name = 'SimulatedCrash';
    this.drain = drain;
  }
}

/** A source of uniform numbers in [0, 1), as `Math.random`. */
export type Random = () => number;

/** How a StrictMemoryDevice is made. */
export interface StrictDeviceOptions {
  /**
   * Offer `persistAsync(ranges)` and report `info.granularity` 'page', as a native Device on a page
   * granularity mapping does: the pool then defers its flushes to it (default false).
   */
  readonly persistAsync?: boolean;
  /**
   * With `persistAsync`, also offer `writeRangesAsync` (default true), as a native Device on a file does:
   * the pool's promise writes then hand their stores to it. False keeps them on the pool's own stores.
   */
  readonly storeJobs?: boolean;
  /** The source of `persistAsync`'s delays (default `Math.random`): a seeded one makes a run replayable. */
  readonly random?: Random;
}

/** What the device reports when it offers `persistAsync` (the part of a native Device's `info` the pool reads). */
export interface StrictDeviceInfo {
  readonly granularity: 'page';
}

/** Where a crash image takes each line that might differ from the media. */
export interface CrashImageOptions {
  /** Chance that an unfenced line shows its newest contents rather than its media (default 0.5). */
  readonly newest?: number;
}

/**
 * StrictMemoryDevice -- a MemoryDevice that tells what the CPU sees (`bytes`) from what survives a power
 * cut (`media`). Stores through `directAccess` views cannot be watched, so any 64-byte line whose
 * bytes differ from its media is dirty: it may or may not have been written back. `flush` takes a
 * snapshot of its lines (written back, not yet fenced), `drain` makes every snapshot media, `persist`
 * is both, and `copy`/`fill` are durable on return unless their flags say otherwise. `crashImage`
 * returns one state the media could hold after a power cut now; `crashAt(n)` makes the n-th drain
 * throw `SimulatedCrash` before it takes effect, and freezes the device as it was at that moment.
 *
 * With `{ persistAsync: true }` it also models an msync running on a worker thread: `persistAsync`
 * returns at once, waits a random macrotask (setImmediate, or a timer of 0 or 1 ms), and only then
 * flushes the ranges and drains, so the stores are not durable until the promise resolves. A crash
 * armed for that drain (or one that happened meanwhile) rejects it with `SimulatedCrash`.
 */
export class StrictMemoryDevice extends MemoryDevice {
  /** What survives a crash. */
  readonly media: Uint8Array;
  /** Drains so far (including those inside `persist`, `copy` and `fill`). */
  drains = 0;
  /** Called before each drain takes effect, with its number: a crash image taken here is a crash there. */
  onDrain: ((drain: number) => void) | null = null;
  /** Present only with `{ persistAsync: true }`, as on a native Device at page granularity. */
  readonly info?: StrictDeviceInfo;
  /**
   * Make `ranges` (offset, length pairs) durable later: resolves once they are, after a random short
   * delay; rejects with SimulatedCrash when the power failed first. Present only with `{ persistAsync: true }`.
   */
  readonly persistAsync?: (ranges: Float64Array | readonly ByteRange[]) => Promise<void>;
  /**
   * Store the bytes of `src`, in order, over the leading `ranges` later and make every range durable (only
   * store with `{ writeBack: false }`): after a random short delay, as a job on a worker thread would. Present with `persistAsync` unless `storeJobs: false`.
   */
  readonly writeRangesAsync?: (ranges: Float64Array | readonly ByteRange[], src: ArrayBufferView, opts?: WriteRangesOptions) => Promise<void>;
  /** persistAsync calls not yet settled. */
  persistsInFlight = 0;
  private readonly pendingWrites = new Set<() => void>();
  private readonly snapshots: Uint8Array;
  private readonly flushed: Uint8Array;
  private flushedList: number[] = [];
  private crashAtDrain = 0;
  /** The CPU view at the moment of the crash, once there has been one. */
  private frozen: Uint8Array | null = null;
  private crashDrain = 0;

  constructor(size: number, options: StrictDeviceOptions = {}) {
    super(size);
    this.media = new Uint8Array(size);
    this.snapshots = new Uint8Array(size);
    this.flushed = new Uint8Array(size / LINE_SIZE);
    if (options.persistAsync === true) {
      const random = options.random ?? Math.random;
      this.info = { granularity: 'page' };
      this.persistAsync = (ranges) => this.deferPersist(ranges, random);
      if (options.storeJobs !== false) this.writeRangesAsync = (ranges, src, opts) => this.deferWrite(ranges, src, opts?.writeBack !== false, random);
    }
  }

  /** A strict device whose CPU view and media both hold `image` (what a machine finds after a reboot). */
  static fromImage(image: Uint8Array, options: StrictDeviceOptions = {}): StrictMemoryDevice {
    const d = new StrictMemoryDevice(image.length, options);
    d.reset(image);
    return d;
  }

  /** Start over from `image` as both CPU view and media: no drains, no crash armed, nothing unsettled. */
  reset(image: Uint8Array): void {
    if (image.length !== this.size) throw outOfRangeError('the image must be as large as the device');
    this.bytes.set(image);
    this.media.set(image);
    this.flushed.fill(0);
    this.flushedList = [];
    this.drains = 0;
    this.crashAtDrain = 0;
    this.frozen = null;
    this.crashDrain = 0;
    this.onDrain = null;
  }

  /** True once a crash has happened: persistence calls throw and crash images show that moment. */
  get crashed(): boolean {
    return this.frozen !== null;
  }

  /** Make the n-th drain from now throw `SimulatedCrash` before it applies (0 disarms). */
  crashAt(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw outOfRangeError('crashAt needs a non-negative integer');
    this.crashAtDrain = n === 0 ? 0 : this.drains + n;
  }

  override flush(offset: number, length: number): void {
    this.checkAlive();
    super.flush(offset, length);
    if (length === 0) return;
    const first = Math.floor(offset / LINE_SIZE);
    const last = Math.floor((offset + length - 1) / LINE_SIZE);
    for (let line = first; line <= last; line++) {
      const at = line * LINE_SIZE;
      if (this.lineDiffers(this.bytes, this.media, at)) {
        copyLine(this.bytes, this.snapshots, at);
        if (this.flushed[line] === 0) {
          this.flushed[line] = 1;
          this.flushedList.push(line);
        }
      } else if (this.flushed[line] === 1) {
        // Written back with the media's own contents: the line is clean again.
        copyLine(this.media, this.snapshots, at);
      }
    }
  }

  override drain(): void {
    this.checkAlive();
    super.drain();
    this.drains++;
    if (this.drains === this.crashAtDrain) {
      this.frozen = this.bytes.slice();
      this.crashDrain = this.drains;
      throw new SimulatedCrash(this.drains);
    }
    this.onDrain?.(this.drains);
    for (const line of this.flushedList) {
      copyLine(this.snapshots, this.media, line * LINE_SIZE);
      this.flushed[line] = 0;
    }
    this.flushedList = [];
  }

  override persist(offset: number, length: number): void {
    this.flush(offset, length);
    this.drain();
  }

  override copy(offset: number, src: ArrayBufferView, flags = 0): void {
    this.checkAlive();
    const bytes = bytesOf(src, 'src');
    super.copy(offset, bytes, flags);
    this.settle(offset, bytes.byteLength, flags);
  }

  override fill(offset: number, value: number, length: number, flags = 0): void {
    this.checkAlive();
    super.fill(offset, value, length, flags);
    this.settle(offset, length, flags);
  }

  /** Lines whose contents may be lost in a crash now: dirty, or written back but not fenced. */
  unsettledLines(): number[] {
    const cpu = this.frozen ?? this.bytes;
    const out: number[] = [];
    const pageLines = PAGE_SIZE / LINE_SIZE;
    for (let page = 0; page < this.size / PAGE_SIZE; page++) {
      const at = page * PAGE_SIZE;
      const pageDirty = Buffer.compare(cpu.subarray(at, at + PAGE_SIZE), this.media.subarray(at, at + PAGE_SIZE)) !== 0;
      for (let i = 0; i < pageLines; i++) {
        const line = page * pageLines + i;
        if (this.flushed[line] === 1 || (pageDirty && this.lineDiffers(cpu, this.media, line * LINE_SIZE))) out.push(line);
      }
    }
    return out;
  }

  /**
   * crashImage -- one state the media may hold after a power cut now (or at the crash, once there was
   * one): the media, with each unsettled line taken whole from its media, its written-back snapshot or
   * the CPU's newest contents, at random.
   */
  crashImage(random: Random = Math.random, options: CrashImageOptions = {}): Uint8Array {
    const image = new Uint8Array(this.size);
    this.crashImageInto(image, random, options);
    return image;
  }

  /** `crashImage` written into `image` (a device-sized buffer reused from image to image). */
  crashImageInto(image: Uint8Array, random: Random = Math.random, options: CrashImageOptions = {}): void {
    if (image.length !== this.size) throw outOfRangeError('the image buffer must be as large as the device');
    const newest = options.newest ?? 0.5;
    const cpu = this.frozen ?? this.bytes;
    image.set(this.media);
    for (const line of this.unsettledLines()) {
      const at = line * LINE_SIZE;
      if (random() >= newest) continue;
      // A line written back and changed again may have reached the media in either version.
      copyLine(this.flushed[line] === 1 && random() < 0.5 ? this.snapshots : cpu, image, at);
    }
  }

  /** The drain the crash interrupted (0 when there has been none). */
  get crashedAt(): number {
    return this.crashDrain;
  }

  private async deferPersist(given: Float64Array | readonly ByteRange[], random: Random): Promise<void> {
    // Taken now: the caller may reuse its array while the persist is in flight.
    const taken = this.pairsOf(given);
    this.persistsInFlight++;
    try {
      await macrotask(random);
      for (let i = 0; i < taken.length; i += 2) this.flush(taken[i] as number, taken[i + 1] as number);
      this.drain();
    } finally {
      this.persistsInFlight--;
    }
  }

  private async deferWrite(given: Float64Array | readonly ByteRange[], src: ArrayBufferView, writeBack: boolean, random: Random): Promise<void> {
    const taken = this.pairsOf(given);
    const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength).slice();
    const filled = filledRanges(taken, bytes.length);
    if (filled < 0) throw outOfRangeError('writeRangesAsync: the bytes of src must fill the leading ranges exactly');
    let outcome: { error: unknown } | null = null;
    const run = (): void => {
      this.pendingWrites.delete(run);
      try {
        for (let i = 0, from = 0; i < 2 * filled; i += 2) {
          const n = taken[i + 1] as number;
          this.copy(taken[i] as number, bytes.subarray(from, from + n), CopyFlags.NOFLUSH);
          from += n;
        }
        if (writeBack) {
          for (let i = 0; i < taken.length; i += 2) this.flush(taken[i] as number, taken[i + 1] as number);
          this.drain();
        }
        outcome = { error: null };
      } catch (e) {
        outcome = { error: e };
      }
    };
    this.pendingWrites.add(run);
    this.persistsInFlight++;
    try {
      await macrotask(random);
      if (outcome === null) run();
      const done = outcome as { error: unknown } | null;
      if (done !== null && done.error !== null) throw done.error;
    } finally {
      this.persistsInFlight--;
    }
  }

  /** As a native Device's: every `writeRangesAsync` job still pending does its work now (their promises settle later). */
  waitJobs(): void {
    for (const run of [...this.pendingWrites]) run();
  }

  /** [offset, length] pairs inside the device, copied. */
  private pairsOf(given: Float64Array | readonly ByteRange[]): number[] {
    const ranges = given instanceof Float64Array ? given : given.flatMap((r) => [r.offset, r.length]);
    if (ranges.length % 2 !== 0) throw outOfRangeError('persistAsync needs offset, length pairs');
    for (let i = 0; i < ranges.length; i += 2) {
      const offset = ranges[i] as number;
      const length = ranges[i + 1] as number;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
        throw outOfRangeError('persistAsync ranges must lie inside the device');
      }
    }
    return Array.from(ranges);
  }

  /** NOFLUSH leaves the store only visible; NODRAIN leaves it written back but unfenced. */
  private settle(offset: number, length: number, flags: number): void {
    if ((flags & CopyFlags.NOFLUSH) !== 0) return;
    this.flush(offset, length);
    if ((flags & CopyFlags.NODRAIN) === 0) this.drain();
  }

  private lineDiffers(a: Uint8Array, b: Uint8Array, at: number): boolean {
    for (let i = at; i < at + LINE_SIZE; i++) if (a[i] !== b[i]) return true;
    return false;
  }

  private checkAlive(): void {
    if (this.frozen !== null) throw new SimulatedCrash(this.crashDrain);
  }
}

/** A macrotask's wait, of a random kind: what a worker thread's answer costs. */
function macrotask(random: Random): Promise<void> {
  const r = random();
  return new Promise((resolve) => {
    if (r < 0.5) setImmediate(resolve);
    else setTimeout(resolve, r < 0.75 ? 0 : 1);
  });
}

function copyLine(from: Uint8Array, to: Uint8Array, at: number): void {
  for (let i = at; i < at + LINE_SIZE; i++) to[i] = from[i] as number;
}

/** A plain MemoryDevice holding a copy of `image`, for opening what a crash left. */
export function memoryDeviceFromImage(image: Uint8Array): MemoryDevice {
  const d = new MemoryDevice(image.length);
  d.bytes.set(image);
  return d;
}
