import type { DaxDevice } from '../device/types';
import { pinPages, unpinPages } from '../dax/pins';

/**
 * RegionPin -- references on device pages taken through a region (get_user_pages), released
 * once. While it is held, truncate, punch and reflink over those pages wait or fail with EBUSY.
 */
export class RegionPin implements Disposable {
  readonly #device: DaxDevice;
  readonly #pfns: readonly number[];
  #released = false;

  constructor(device: DaxDevice, pfns: readonly number[]) {
    this.#device = device;
    this.#pfns = pfns;
    for (const p of pfns) pinPages(device, p, 1);
  }

  /** Device pages held. */
  get pages(): number {
    return this.#released ? 0 : this.#pfns.length;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const p of this.#pfns) unpinPages(this.#device, p, 1);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
