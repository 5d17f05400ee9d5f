/** Blocks per chunk: a chunk's bits take 512 bytes and cover 16 MiB of device. */
const CHUNK_SHIFT = 12;
const CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;
/** 32-bit words of bits in a chunk; one more word after them counts the bits set. */
const WORDS = 1 << (CHUNK_SHIFT - 5);

/**
 * BlockSet -- a set of block numbers as bits, in chunks that exist only while they hold a block: metadata
 * pages lie in a few regions of a large device, so the set costs a bit per block of those regions, not of
 * the device (at most a 32,768th of the device's size, were pages spread over all of it at once).
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
      chunk = new Int32Array(WORDS + 1);
      this.#chunks.set(block >>> CHUNK_SHIFT, chunk);
    }
    const bit = block & CHUNK_MASK;
    const word = chunk[bit >>> 5] as number;
    const mask = 1 << (bit & 31);
    if ((word & mask) !== 0) return;
    chunk[bit >>> 5] = word | mask;
    chunk[WORDS] = (chunk[WORDS] as number) + 1;
  }

  delete(block: number): void {
    const chunk = this.#chunks.get(block >>> CHUNK_SHIFT);
    if (chunk === undefined) return;
    const bit = block & CHUNK_MASK;
    const word = chunk[bit >>> 5] as number;
    const mask = 1 << (bit & 31);
    if ((word & mask) === 0) return;
    chunk[bit >>> 5] = word & ~mask;
    chunk[WORDS] = (chunk[WORDS] as number) - 1;
    if (chunk[WORDS] === 0) this.#chunks.delete(block >>> CHUNK_SHIFT);
  }

  /** Bytes the chunks hold. */
  get bytes(): number {
    return this.#chunks.size * (WORDS + 1) * 4;
  }
}
