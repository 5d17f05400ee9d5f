/**
 * RecordList -- journal records found: for each, where its operations end (a journal offset) and their count,
 * as pairs in one typed array that grows and is kept (a reader's backlog may hold every record of an epoch,
 * and a new snapshot takes the array over rather than grow one again).
 */
export class RecordList {
  #cells = new Float64Array(256);
  /** Cells in use: two per record. */
  length = 0;

  /** The pairs, valid below `length`. */
  get cells(): Float64Array {
    return this.#cells;
  }

  push(end: number, count: number): void {
    if (this.length + 2 > this.#cells.length) {
      const grown = new Float64Array(2 * this.#cells.length);
      grown.set(this.#cells.subarray(0, this.length));
      this.#cells = grown;
    }
    this.#cells[this.length++] = end;
    this.#cells[this.length++] = count;
  }

  /** Hold `other`'s records (this one's cells, when larger, are kept). */
  copyFrom(other: RecordList): void {
    if (other.length > this.#cells.length) this.#cells = new Float64Array(other.#cells.length);
    this.#cells.set(other.#cells.subarray(0, other.length));
    this.length = other.length;
  }

  get capacity(): number {
    return this.#cells.length;
  }
}
