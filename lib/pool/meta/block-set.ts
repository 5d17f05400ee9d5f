/** Blocks per chunk: a chunk's bits take 512 bytes and cover 16 MiB of device. */
const CHUNK_SHIFT = 12;
const CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;

/**
 * BlockSet -- a set of block numbers as bits, in chunks made only where a block is added: metadata pages
 * lie in a few regions of a large device, so the set costs a bit per block of those regions, not of the
 * device (at most a 32,768th of the device's size, were pages spread over all of it).
 */
export class BlockSet {
  readonly #chunks = new Map<number, Int32Array>();

  has(block: number): boolean {
    const chunk = this.#chunks.get(block >>> CHUNK_SHIFT);
    if (chunk === undefined) return false;
    const bit = block & CHUNK_MASK;
    return ((chunk[bit >>> 5] as number) & (1 << (bit & 31))) !== 0;
  }

  add(block: number): void {
    let chunk = this.#chunks.get(block >>> CHUNK_SHIFT);
    if (chunk === undefined) {
      chunk = new Int32Array(1 << (CHUNK_SHIFT - 5));
      this.#chunks.set(block >>> CHUNK_SHIFT, chunk);
    }
    const bit = block & CHUNK_MASK;
    chunk[bit >>> 5] = (chunk[bit >>> 5] as number) | (1 << (bit & 31));
  }

  delete(block: number): void {
    const chunk = this.#chunks.get(block >>> CHUNK_SHIFT);
    if (chunk === undefined) return;
    const bit = block & CHUNK_MASK;
    chunk[bit >>> 5] = (chunk[bit >>> 5] as number) & ~(1 << (bit & 31));
  }

  /** Bytes the chunks hold. */
  get bytes(): number {
    return this.#chunks.size << (CHUNK_SHIFT - 3);
  }
}
