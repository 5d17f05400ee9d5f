import type { ByteRange, DaxDevice, DirectAccessOptions, DirectAccessResult } from '../device/types';
import { PmemdaxError, argTypeError, outOfRangeError } from '../errors';
import { daxError } from '../dax/errors';
import { Errno } from '../iomap/errno';
import { PAGE_SIZE, SECTOR_SIZE } from '../iomap/constants';
import { bytesOf, optionalBytesOf } from '../device/validate';
import { RangeLocks, type RangeLockMode } from './range-locks';

/** Counts of the persistence calls made, for tests that check what was flushed. */
export interface FlushRecord {
  readonly offset: number;
  readonly length: number;
}

/** A window whose view is made on first use: the DAX copy paths only need the page count. */
class MemoryWindow implements DirectAccessResult {
  readonly pages: number;
  private readonly bytes: Uint8Array;
  private readonly at: number;
  private made: Uint8Array | null = null;

  constructor(bytes: Uint8Array, at: number, pages: number) {
    this.bytes = bytes;
    this.at = at;
    this.pages = pages;
  }

  get view(): Uint8Array {
    this.made ??= this.bytes.subarray(this.at, this.at + this.pages * PAGE_SIZE);
    return this.made;
  }
}

/**
 * MemoryDevice -- a DaxDevice over an ordinary Uint8Array, with a badblocks list that tests inject
 * into. It behaves like the native Device: windows stop at the first bad page, a window that starts
 * on a bad page fails with EIO (recovery mode gives that single page), `copySafe` over poison throws
 * EIO with the offset, and `clearBadblocks` is the page-aligned recovery write that repairs it.
 */
export class MemoryDevice implements DaxDevice {
  readonly size: number;
  readonly bytes: Uint8Array;
  closed = false;
  /** Every `flush`/`persist` range, when `recordFlushes` is set. */
  readonly flushes: FlushRecord[] = [];
  recordFlushes = false;
  private bad: ByteRange[] = [];

  /** Present after `withRangeLocks()`, as on a native Device. */
  rangeLock?: (start: bigint, length: bigint, mode: RangeLockMode) => boolean;
  rangeConflict?: (start: bigint, length: bigint, mode: 'exclusive' | 'shared') => bigint | null;
  #locks: RangeLocks | null = null;

  /** `bytes`: the memory of another open of the same device (`openAgain`), shared rather than copied. */
  constructor(size: number, bytes?: Uint8Array) {
    if (size <= 0 || size % PAGE_SIZE !== 0) throw outOfRangeError(`size must be a positive multiple of ${PAGE_SIZE}`);
    if (bytes !== undefined && bytes.length !== size) throw outOfRangeError(`the shared memory has ${bytes.length} bytes, not ${size}`);
    this.size = size;
    this.bytes = bytes ?? new Uint8Array(size);
  }

  /**
   * Offer byte-range locks as a native Device does (open-file-description locks), in `locks`, a table the
   * device's other opens share: the pool's readers claim their snapshots with them (lib/pool/claims.ts).
   */
  withRangeLocks(locks = new RangeLocks()): this {
    this.#locks = locks;
    this.rangeLock = (start, length, mode) => {
      this.checkOpen();
      return locks.set(this, start, length, mode);
    };
    this.rangeConflict = (start, length, mode) => {
      this.checkOpen();
      return locks.conflict(this, start, length, mode);
    };
    return this;
  }

  /** Another open of this memory, as another process's mapping of the same file: its own range locks, in the shared table. */
  openAgain(): MemoryDevice {
    const d = new MemoryDevice(this.size, this.bytes);
    return this.#locks === null ? d : d.withRangeLocks(this.#locks);
  }

  close(): void {
    this.closed = true;
    this.#locks?.releaseAll(this);
  }

  directAccess(pgoff: number, nrPages: number, options?: DirectAccessOptions): DirectAccessResult {
    this.checkOpen();
    const total = this.size / PAGE_SIZE;
    if (!Number.isInteger(pgoff) || pgoff < 0 || pgoff >= total) throw outOfRangeError(`pgoff ${pgoff} is outside the device`);
    if (!Number.isInteger(nrPages) || nrPages < 1) throw outOfRangeError('nrPages must be a positive integer');
    let n = Math.min(nrPages, total - pgoff);
    if (this.bad.length > 0) {
      const firstBad = this.firstBadPage(pgoff, n);
      if (firstBad === pgoff) {
        if (options?.recovery !== true) throw daxError(-Errno.EIO, 'directAccess', { offset: pgoff * PAGE_SIZE });
        n = 1;
      } else if (firstBad >= 0) {
        n = firstBad - pgoff;
      }
    }
    return new MemoryWindow(this.bytes, pgoff * PAGE_SIZE, n);
  }

  flush(offset: number, length: number): void {
    this.checkRange(offset, length);
    if (this.recordFlushes) this.flushes.push({ offset, length });
  }

  drain(): void {
    this.checkOpen();
  }

  persist(offset: number, length: number): void {
    this.flush(offset, length);
  }

  copy(offset: number, src: ArrayBufferView, _flags?: number): void {
    const bytes = bytesOf(src, 'src');
    this.checkRange(offset, bytes.byteLength);
    this.bytes.set(bytes, offset);
  }

  fill(offset: number, value: number, length: number, _flags?: number): void {
    this.checkRange(offset, length);
    this.bytes.fill(value, offset, offset + length);
  }

  copySafe(offset: number, target: ArrayBufferView): void {
    const bytes = bytesOf(target, 'target');
    const n = bytes.byteLength;
    this.checkRange(offset, n);
    for (const b of this.bad) {
      if (b.offset < offset + n && offset < b.offset + b.length) {
        throw daxError(-Errno.EIO, 'read', { offset: Math.max(offset, b.offset) });
      }
    }
    bytes.set(this.bytes.subarray(offset, offset + n));
  }

  badblocks(): ByteRange[] {
    return this.bad.map((b) => ({ offset: b.offset, length: b.length }));
  }

  /** Test hook: mark `[offset, offset+length)` poisoned, widened to whole 512-byte sectors. */
  injectBadblock(offset: number, length: number): void {
    this.checkRange(offset, length);
    const lo = Math.floor(offset / SECTOR_SIZE) * SECTOR_SIZE;
    const hi = Math.ceil((offset + length) / SECTOR_SIZE) * SECTOR_SIZE;
    this.bad.push({ offset: lo, length: hi - lo });
    this.normalise();
  }

  /**
   * The recovery write: a page-aligned write of `data` (or zeros) that clears the poison under it.
   * As on pmem, the data goes in first and the badblocks entries are removed after.
   */
  clearBadblocks(offset: number, length: number, data?: ArrayBufferView): void {
    this.checkRange(offset, length);
    if (offset % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0) {
      throw daxError(-Errno.EINVAL, 'pwrite', { offset, length });
    }
    // As the native Device: the data, when given, is exactly the range.
    const bytes = optionalBytesOf(data, 'data');
    if (bytes !== undefined && bytes.byteLength !== length) {
      throw argTypeError(`The "data" argument must hold exactly "length" (${length}) bytes, received ${bytes.byteLength}`);
    }
    if (bytes === undefined) this.bytes.fill(0, offset, offset + length);
    else this.copy(offset, bytes);
    const kept: ByteRange[] = [];
    for (const b of this.bad) {
      if (b.offset < offset) kept.push({ offset: b.offset, length: Math.min(b.length, offset - b.offset) });
      const end = b.offset + b.length;
      if (end > offset + length) {
        const from = Math.max(b.offset, offset + length);
        kept.push({ offset: from, length: end - from });
      }
    }
    this.bad = kept;
    this.normalise();
  }

  /** First page in `[pgoff, pgoff+n)` overlapping a bad sector, or -1. */
  private firstBadPage(pgoff: number, n: number): number {
    const lo = pgoff * PAGE_SIZE;
    const hi = lo + n * PAGE_SIZE;
    let first = -1;
    for (const b of this.bad) {
      if (b.offset < hi && lo < b.offset + b.length) {
        const p = Math.floor(Math.max(lo, b.offset) / PAGE_SIZE);
        if (first < 0 || p < first) first = p;
      }
    }
    return first;
  }

  private normalise(): void {
    this.bad.sort((x, y) => x.offset - y.offset);
    const merged: ByteRange[] = [];
    for (const b of this.bad) {
      const last = merged[merged.length - 1];
      if (last !== undefined && b.offset <= last.offset + last.length) {
        merged[merged.length - 1] = { offset: last.offset, length: Math.max(last.length, b.offset + b.length - last.offset) };
      } else if (b.length > 0) {
        merged.push(b);
      }
    }
    this.bad = merged;
  }

  private checkOpen(): void {
    if (this.closed) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', 'the device is closed');
  }

  private checkRange(offset: number, length: number): void {
    this.checkOpen();
    if (!(offset >= 0 && length >= 0 && offset + length <= this.size)) {
      throw outOfRangeError(`range [${offset}, +${length}) is outside the device of ${this.size} bytes`);
    }
  }
}
