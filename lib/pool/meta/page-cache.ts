/**
 * PageCache -- the committed tree pages last used, least recently used dropped first, every step O(1): a
 * list threaded through slot arrays, and a map from block to slot that only changes when a page comes in or
 * goes out. (A `Map` kept in use order, deleted from and set again at each use, leaves deleted entries at its
 * front that every look for the oldest walks over: a lookup cost grew with the uses since the map's last
 * rehash.) The buffer of the page dropped is handed on for the next read, so reads allocate nothing once the
 * cache is full: a page's bytes stay its own while fewer than `capacity - 1` other pages come in.
 */
export class PageCache {
  readonly #capacity: number;
  readonly #slots = new Map<number, number>();
  readonly #blocks: number[] = [];
  readonly #buffers: Buffer[] = [];
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  /** Least and most recently used slots; -1 when empty. */
  #oldest = -1;
  #newest = -1;
  readonly #free: number[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#prev = new Int32Array(capacity);
    this.#next = new Int32Array(capacity);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** The page at `block`, now the most recently used; undefined if not cached. */
  get(block: number): Buffer | undefined {
    const slot = this.#slots.get(block);
    if (slot === undefined) return undefined;
    if (slot !== this.#newest) {
      this.#unlink(slot);
      this.#append(slot);
    }
    return this.#buffers[slot];
  }

  /** A buffer of `size` bytes to read a page into: the least recently used page's, dropped, once the cache is full. */
  spare(size: number): Buffer {
    if (this.#slots.size < this.#capacity) return Buffer.allocUnsafe(size);
    const slot = this.#oldest;
    const buffer = this.#buffers[slot] as Buffer;
    this.#drop(slot);
    return buffer;
  }

  /** Keep `page` as block `block`'s, the most recently used, dropping the least recently used past the capacity. */
  put(block: number, page: Buffer): void {
    this.delete(block);
    if (this.#slots.size >= this.#capacity) this.#drop(this.#oldest);
    const slot = this.#free.pop() ?? this.#blocks.length;
    this.#blocks[slot] = block;
    this.#buffers[slot] = page;
    this.#slots.set(block, slot);
    this.#append(slot);
  }

  delete(block: number): void {
    const slot = this.#slots.get(block);
    if (slot !== undefined) this.#drop(slot);
  }

  #drop(slot: number): void {
    this.#slots.delete(this.#blocks[slot] as number);
    this.#unlink(slot);
    this.#free.push(slot);
  }

  #unlink(slot: number): void {
    const p = this.#prev[slot] as number;
    const n = this.#next[slot] as number;
    if (p >= 0) this.#next[p] = n;
    else this.#oldest = n;
    if (n >= 0) this.#prev[n] = p;
    else this.#newest = p;
  }

  #append(slot: number): void {
    this.#prev[slot] = this.#newest;
    this.#next[slot] = -1;
    if (this.#newest >= 0) this.#next[this.#newest] = slot;
    else this.#oldest = slot;
    this.#newest = slot;
  }
}
