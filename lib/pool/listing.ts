import type { NameRange, NameTable } from './name-table';

/** Names a listing fetches at a time. */
const LIST_BATCH = 128;

/** The prototype of the built-in iterators (with Node's iterator helpers where it has them). */
const ITERATOR_PROTOTYPE = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object;

/**
 * Listing -- the iterator `pool.list` returns: the names of a range, a batch at a time (`fetch`, from the
 * table the step was given, each batch after the last name of the one before), at most `limit` of them. Every step first asks `table` for the
 * pool's names, which throws once the pool or its device is closed, so each step after a close throws, even
 * one that would have ended the listing, and so does each step after a batch failed. A name of the batch in
 * hand that the table no longer holds (unlinked, renamed away) is passed over: the table's change count, or a
 * new table (a reader's new snapshot), says when to ask. A class, not a generator: a process's first listing
 * runs interpreted, and a generator's resume per name cost more than the rest of the step.
 */
export class Listing implements IterableIterator<string> {
  readonly #table: () => NameTable;
  readonly #fetch: (names: NameTable, range: NameRange, want: number) => string[];
  readonly #prefix: string | undefined;
  /** Where the next batch starts: after this name. */
  #after: string | undefined;
  #left: number;
  #batch: readonly string[] = [];
  #at = 0;
  /** The table the batch in hand was read from (a reader's refresh may bring a new one), and its change count then. */
  #from: NameTable | null = null;
  #changes = 0;
  /** The batch in hand is the range's last. */
  #last = false;

  constructor(range: NameRange, limit: number, table: () => NameTable, fetch: (names: NameTable, range: NameRange, want: number) => string[]) {
    this.#prefix = range.prefix;
    this.#after = range.after;
    this.#left = limit;
    this.#table = table;
    this.#fetch = fetch;
  }

  next(): IteratorResult<string, undefined> {
    const names = this.#table();
    while (this.#left > 0) {
      if (this.#at === this.#batch.length) {
        if (this.#last) break;
        const want = Math.min(this.#left, LIST_BATCH);
        const batch = this.#fetch(names, { prefix: this.#prefix, after: this.#after }, want);
        this.#batch = batch;
        this.#at = 0;
        this.#from = names;
        this.#changes = names.changes;
        this.#last = batch.length < want;
        this.#after = batch[batch.length - 1] ?? this.#after;
        continue;
      }
      const name = this.#batch[this.#at++] as string;
      if ((names !== this.#from || names.changes !== this.#changes) && !names.has(name)) continue;
      this.#left--;
      return { value: name, done: false };
    }
    this.#left = 0;
    return { value: undefined, done: true };
  }

  /** Ends the listing early (a `break` out of `for … of`); a step after it still throws once the pool is closed. */
  return(): IteratorResult<string, undefined> {
    this.#left = 0;
    return { value: undefined, done: true };
  }

  [Symbol.iterator](): this {
    return this;
  }
}

Object.setPrototypeOf(Listing.prototype, ITERATOR_PROTOTYPE);
