import type { DaxDevice } from '../device/types';
import { daxError } from '../dax/errors';
import { internalError } from '../errors';
import { Errno } from '../iomap/errno';
import { PAGE_SIZE } from '../iomap/constants';

/**
 * BlockAllocator -- reference counts of the device's pages (0 = free) and a next-fit allocator of
 * contiguous runs. New blocks are zeroed before they are handed out, as DAX requires.
 */
export class BlockAllocator {
  readonly refs: Uint32Array;
  private cursor = 0;
  private readonly device: DaxDevice;

  constructor(device: DaxDevice) {
    this.device = device;
    this.refs = new Uint32Array(Math.floor(device.size / PAGE_SIZE));
  }

  /** Allocate 1..`want` contiguous zeroed blocks; returns [first block, count]. Throws ENOSPC. */
  alloc(want: number): [number, number] {
    const total = this.refs.length;
    for (let scanned = 0; scanned < total; scanned++) {
      const p = (this.cursor + scanned) % total;
      if (this.refs[p] !== 0) continue;
      let n = 1;
      while (n < want && p + n < total && this.refs[p + n] === 0) n++;
      for (let i = p; i < p + n; i++) this.refs[i] = 1;
      this.cursor = (p + n) % total;
      this.device.fill(p * PAGE_SIZE, 0, n * PAGE_SIZE);
      return [p, n];
    }
    throw daxError(-Errno.ENOSPC, 'fallocate');
  }

  get(block: number): number {
    return this.refs[block] ?? 0;
  }

  ref(block: number): void {
    this.refs[block] = this.get(block) + 1;
  }

  /** Drop one reference; the block is free at 0. */
  unref(block: number): void {
    const n = this.get(block);
    if (n === 0) throw internalError(`memfs: block ${block} is already free`);
    this.refs[block] = n - 1;
  }

  /** Blocks in use. */
  used(): number {
    let n = 0;
    for (const r of this.refs) if (r !== 0) n++;
    return n;
  }
}
