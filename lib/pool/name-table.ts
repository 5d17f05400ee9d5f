import { BTree } from './meta/btree';
import { MemoryPages } from './meta/memory-pages';
import type { PoolInode } from './inode';

const NOTHING = Buffer.alloc(0);

/** Which names a listing covers (`pool.list`): those with `prefix`, in name order, after `after`. */
export interface NameRange {
  readonly prefix?: string;
  readonly after?: string;
}

/**
 * NameTable -- a pool's names: a map to the inodes, and their order (UTF-8 bytes, which is code-point order)
 * in a B+tree in memory, so that a listing of a prefix, or from a name on, costs the names it returns and not
 * every name of the pool. The order is built at the first listing that needs it, in one pass over the sorted
 * names (a pool that never lists pays nothing for it, at open or per change), and from then on every change
 * keeps it. The first listing of a prefix does without it (`matching`): a service that lists its leftover
 * temporary files once at start should not pay for a sort of every name, nor for keeping the order after.
 */
export class NameTable {
  readonly #byName = new Map<string, PoolInode>();
  readonly #pages = new MemoryPages();
  #order: BTree | null = null;
  /** Prefix listings made without the order. */
  #scans = 0;

  get size(): number {
    return this.#byName.size;
  }

  get(name: string): PoolInode | undefined {
    return this.#byName.get(name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  set(name: string, inode: PoolInode): void {
    if (this.#order !== null && !this.#byName.has(name)) this.#order.put(Buffer.from(name, 'utf8'), NOTHING);
    this.#byName.set(name, inode);
  }

  delete(name: string): boolean {
    if (!this.#byName.delete(name)) return false;
    this.#order?.delete(Buffer.from(name, 'utf8'));
    return true;
  }

  clear(): void {
    this.#byName.clear();
    this.#pages.clear();
    this.#order = null;
  }

  /**
   * For the first listing of a prefix while the order is not built: every name with `prefix` and after
   * `after`, in name order, by one pass over the names; null when the order should be used instead.
   */
  matching(prefix: string, after: string | undefined): string[] | null {
    if (this.#order !== null || prefix === '' || this.#scans++ > 0) return null;
    const out: string[] = [];
    for (const name of this.#byName.keys()) {
      if (name.startsWith(prefix) && (after === undefined || byCodePoint(name, after) > 0)) out.push(name);
    }
    return sortNames(out);
  }

  /** Up to `limit` names of `range`, in name order. */
  slice(range: NameRange, limit: number): string[] {
    const out: string[] = [];
    if (limit <= 0) return out;
    this.#order ??= this.#build();
    const scan = {
      ...(range.prefix !== undefined && range.prefix !== '' ? { prefix: Buffer.from(range.prefix, 'utf8') } : {}),
      ...(range.after !== undefined ? { after: Buffer.from(range.after, 'utf8') } : {}),
    };
    for (const [key] of this.#order.entries(scan)) {
      out.push(key.toString('utf8'));
      if (out.length >= limit) break;
    }
    return out;
  }

  #build(): BTree {
    const names = sortNames([...this.#byName.keys()]);
    return BTree.fromSorted(this.#pages, names.map((n) => [Buffer.from(n, 'utf8'), NOTHING] as const));
  }
}

/** `names` sorted in code-point order, in place. */
function sortNames(names: string[]): string[] {
  // UTF-16 unit order is code-point order unless a surrogate pair meets a unit of U+E000 or above; the
  // engine's own string sort is many times faster than a comparison per pair of encoded names.
  return names.some((n) => SURROGATE.test(n)) ? names.sort(byCodePoint) : names.sort();
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Code-point order of two well-formed strings. */
function byCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (a code point above U+FFFF) outranks every other unit that differs from it.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
