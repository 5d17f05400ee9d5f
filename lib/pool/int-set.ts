/** A cell no value holds (a value must be below it). */
const EMPTY = 0xffffffff;
const FIRST_BITS = 10;

/**
 * IntSet -- a set of 32-bit unsigned integers (below 2^32 - 1) in one typed array, open addressing with linear
 * probing: adding costs a multiply and a probe or two whatever the size, where a `Set` of hundreds of
 * thousands of numbers costs a hash-table entry each, and a reader's refresh adds several per operation.
 */
export class IntSet {
  #cells = new Uint32Array(1 << FIRST_BITS).fill(EMPTY);
  #bits = FIRST_BITS;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(v: number): void {
    const cells = this.#cells;
    const mask = cells.length - 1;
    for (let i = this.#slot(v); ; i = (i + 1) & mask) {
      const c = cells[i] as number;
      if (c === v) return;
      if (c === EMPTY) {
        cells[i] = v;
        // At most half full, so that a probe ends soon.
        if (++this.#size * 2 > cells.length) this.#grow();
        return;
      }
    }
  }

  has(v: number): boolean {
    const cells = this.#cells;
    const mask = cells.length - 1;
    for (let i = this.#slot(v); ; i = (i + 1) & mask) {
      const c = cells[i] as number;
      if (c === v) return true;
      if (c === EMPTY) return false;
    }
  }

  clear(): void {
    if (this.#size === 0) return;
    this.#cells.fill(EMPTY);
    this.#size = 0;
  }

  #slot(v: number): number {
    return Math.imul(v, 0x9e3779b1) >>> (32 - this.#bits);
  }

  #grow(): void {
    const old = this.#cells;
    this.#bits++;
    this.#cells = new Uint32Array(1 << this.#bits).fill(EMPTY);
    this.#size = 0;
    for (let i = 0; i < old.length; i++) if (old[i] !== EMPTY) this.add(old[i] as number);
  }
}
