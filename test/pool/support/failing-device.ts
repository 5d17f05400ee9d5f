import { errnoError } from '../../../lib/errors';
import { MemoryDevice } from '../../../lib/testing';

/** A memory device whose copy at `failOffset` throws EIO once, having written nothing (a failed media write). */
export class FailingDevice extends MemoryDevice {
  failOffset = -1;

  override copy(offset: number, src: ArrayBufferView, flags?: number): void {
    if (offset === this.failOffset) {
      this.failOffset = -1;
      throw errnoError('EIO', 'write', { path: '(device)', offset });
    }
    super.copy(offset, src, flags);
  }
}
