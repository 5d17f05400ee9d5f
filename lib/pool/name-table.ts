import { BTree } from './meta/btree';
import { MemoryPages } from './meta/memory-pages';
import { decodeNameKey, nameKey } from './meta/records';
import type { PoolInode } from './inode';

const NOTHING = Buffer.alloc(0);

/** Which names a listing covers (`pool.list`): those with `prefix`, in name order, after `after`. */
export interface NameRange {
  readonly prefix?: string;
  readonly after?: string;
}

/**
 * NameTable -- a pool's names: a map to the inodes, and their order (UTF-8 bytes, which is code-point order)
 * for listings. The order is the names tree of the last checkpoint, on the media (`committed`), merged with
 * the names given since (`#fresh`, a B+tree in memory); a name the tree still holds but the map no longer
 * does was removed since. So a listing reads the pages of the names it returns, whatever the pool's size.
 * The order of the names given since is built by the first listing that needs it, from the set of them
 * (bounded by the journal: a checkpoint empties it), and kept by every change after: creates and unlinks
 * of a pool that does not list pay a set insertion, not a tree update.
 */
export class NameTable {
  readonly #byName = new Map<string, PoolInode>();
  readonly #committed: () => BTree;
  readonly #path: string;
  /** Names given since the names tree was last brought up to date, and their order once a listing needed it. */
  readonly #freshNames = new Set<string>();
  readonly #pages = new MemoryPages();
  #fresh: BTree | null = null;

  /** `committed` is the names tree of the last checkpoint (read, never changed, by the table). */
  constructor(committed: () => BTree, path: string) {
    this.#committed = committed;
    this.#path = path;
  }

  get size(): number {
    return this.#byName.size;
  }

  get(name: string): PoolInode | undefined {
    return this.#byName.get(name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** A name the names tree holds already (the checkpoint being loaded). */
  load(name: string, inode: PoolInode): void {
    this.#byName.set(name, inode);
  }

  set(name: string, inode: PoolInode): void {
    this.#byName.set(name, inode);
    if (this.#freshNames.has(name)) return;
    this.#freshNames.add(name);
    this.#fresh?.put(nameKey(name), NOTHING);
  }

  delete(name: string): boolean {
    if (!this.#byName.delete(name)) return false;
    if (this.#freshNames.delete(name)) this.#fresh?.delete(nameKey(name));
    return true;
  }

  /** A checkpoint brought the names tree up to date with every name, and it is the committed one now. */
  checkpointed(): void {
    if (this.#freshNames.size === 0) return;
    this.#freshNames.clear();
    this.#pages.clear();
    this.#fresh = null;
  }

  /** Up to `limit` names of `range`, in name order: the committed and the fresh names merged, those still present. */
  slice(range: NameRange, limit: number): string[] {
    const out: string[] = [];
    if (limit <= 0) return out;
    const scan = {
      ...(range.prefix !== undefined && range.prefix !== '' ? { prefix: nameKey(range.prefix) } : {}),
      ...(range.after !== undefined ? { after: nameKey(range.after) } : {}),
    };
    const a = this.#committed().entries(scan);
    this.#fresh ??= BTree.fromSorted(this.#pages, sortNames([...this.#freshNames]).map((n) => [nameKey(n), NOTHING] as const));
    const b = this.#fresh.entries(scan);
    let x = a.next();
    let y = b.next();
    while (out.length < limit && !(x.done === true && y.done === true)) {
      let key: Buffer;
      if (y.done === true || (x.done !== true && x.value[0].compare(y.value[0]) <= 0)) {
        key = (x.value as [Buffer, Buffer])[0];
        // The same name in both: one of it.
        if (y.done !== true && key.equals(y.value[0])) y = b.next();
        x = a.next();
      } else {
        key = y.value[0];
        y = b.next();
      }
      const name = decodeNameKey(key, this.#path);
      if (this.#byName.has(name)) out.push(name);
    }
    return out;
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
