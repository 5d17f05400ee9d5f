import { MemoryDevice } from '../../../lib/testing/memory-device';

/** A memory device that records every store made to it (copy, fill, recovery write). */
export class SpyDevice extends MemoryDevice {
  readonly stores: { offset: number; length: number }[] = [];

  override copy(offset: number, src: ArrayBufferView, flags?: number): void {
    this.stores.push({ offset, length: src.byteLength });
    super.copy(offset, src, flags);
  }

  override fill(offset: number, value: number, length: number, flags?: number): void {
    this.stores.push({ offset, length });
    super.fill(offset, value, length, flags);
  }

  override clearBadblocks(offset: number, length: number, data?: ArrayBufferView): void {
    this.stores.push({ offset, length });
    super.clearBadblocks(offset, length, data);
  }
}
