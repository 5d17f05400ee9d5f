import type { PageStore } from './btree';
import { PAGE } from './page';

/**
 * MemoryPages -- a PageStore in DRAM with nothing committed: every page may be written where it is, so a
 * tree over it changes in place and copies nothing. For indexes that live in memory only (the names
 * given since the last checkpoint, NameTable).
 */
export class MemoryPages implements PageStore {
  readonly #pages: (Buffer | null)[] = [];
  readonly #free: number[] = [];

  page(no: number): Buffer {
    return this.#pages[no] as Buffer;
  }

  writable(no: number): number {
    return no;
  }

  allocate(): number {
    const no = this.#free.pop();
    if (no !== undefined) {
      (this.#pages[no] as Buffer).fill(0);
      return no;
    }
    this.#pages.push(Buffer.alloc(PAGE));
    return this.#pages.length - 1;
  }

  release(no: number): void {
    this.#free.push(no);
  }

  /** Every page back: the store is empty again. */
  clear(): void {
    this.#pages.length = 0;
    this.#free.length = 0;
  }
}
