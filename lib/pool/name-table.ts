import { BTree } from './meta/btree';
import { MemoryPages } from './meta/memory-pages';
import { decodeNameKey, nameKey } from './meta/records';
import type { PoolInode } from './inode';

const NOTHING = Buffer.alloc(0);
/** Names found in the committed tree kept for the next lookups (a few MiB at most). */
const CACHED_NAMES = 1 << 16;

/** Which names a listing covers (`pool.list`): those with `prefix`, in name order, after `after`. */
export interface NameRange {
  readonly prefix?: string;
  readonly after?: string;
}

/**
 * NameTable -- a pool's names: which inode each one opens, and their order (UTF-8 bytes, which is code-point
 * order) for listings. The names tree of the last checkpoint, on the media (`committed`), holds them as they
 * were then; the table keeps the changes since (names given, `#given`, and removed, `#gone`) and the last
 * CACHED_NAMES names it found in the tree. So an open pool's memory for names follows the changes since the
 * last checkpoint, not the pool's size, and the load builds no index of names.
 *
 * A listing merges the committed tree (less the names removed since) with the names given since (`#fresh`,
 * a B+tree in memory built from `#given` by the first listing that needs it and kept after; a checkpoint
 * empties it). A listing reads the pages of the names it returns, whatever the pool's size, and creates and
 * unlinks of a pool that does not list pay a map insertion, not a tree update.
 */
export class NameTable {
  /** Names given since the last checkpoint (the committed tree does not have them yet): the inode each opens. */
  readonly #given = new Map<string, PoolInode>();
  /** Names removed since the last checkpoint: the committed tree may still hold them. */
  readonly #gone = new Set<string>();
  /** Names last found in the committed tree, at most CACHED_NAMES of them (the oldest go first). */
  readonly #cached = new Map<string, PoolInode>();
  readonly #committed: () => BTree;
  readonly #inodeOf: (ino: number) => PoolInode | undefined;
  readonly #path: string;
  #count = 0;
  /** The order of the names given since the last checkpoint, once a listing needed it. */
  readonly #pages = new MemoryPages();
  #fresh: BTree | null = null;

  /** `committed` is the names tree of the last checkpoint (read, never changed, by the table). */
  constructor(committed: () => BTree, inodeOf: (ino: number) => PoolInode | undefined, path: string) {
    this.#committed = committed;
    this.#inodeOf = inodeOf;
    this.#path = path;
  }

  get size(): number {
    return this.#count;
  }

  get(name: string): PoolInode | undefined {
    const known = this.#given.get(name) ?? this.#cached.get(name);
    if (known !== undefined || this.#gone.has(name)) return known;
    const ino = this.committedOwner(name);
    if (ino === null) return undefined;
    const inode = this.#inodeOf(ino);
    // The load matched every entry with its inode, and every change since came through here: an entry whose
    // inode has another name is not this name's.
    if (inode === undefined || inode.name !== name) return undefined;
    if (this.#cached.size >= CACHED_NAMES) this.#cached.delete(this.#cached.keys().next().value as string);
    this.#cached.set(name, inode);
    return inode;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** The inode the committed names tree gives `name`, whatever happened since; null if none. */
  committedOwner(name: string): number | null {
    const v = this.#committed().get(nameKey(name));
    return v === null ? null : v.readUInt32LE(0);
  }

  /** Names removed since the last checkpoint (the committed tree may still hold them). */
  removed(): IterableIterator<string> {
    return this.#gone.values();
  }

  /** A named inode of the checkpoint being loaded: its name is in the committed tree. */
  loaded(): void {
    this.#count++;
  }

  set(name: string, inode: PoolInode): void {
    if (this.get(name) === undefined) this.#count++;
    this.#cached.delete(name);
    this.#gone.delete(name);
    if (!this.#given.has(name)) this.#fresh?.put(nameKey(name), NOTHING);
    this.#given.set(name, inode);
  }

  delete(name: string): boolean {
    if (this.get(name) === undefined) return false;
    this.#count--;
    this.#cached.delete(name);
    this.#gone.add(name);
    if (this.#given.delete(name)) this.#fresh?.delete(nameKey(name));
    return true;
  }

  /** A checkpoint brought the names tree up to date with every name, and it is the committed one now. */
  checkpointed(): void {
    this.#gone.clear();
    if (this.#given.size === 0) return;
    this.#given.clear();
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
    this.#fresh ??= BTree.fromSorted(this.#pages, sortNames([...this.#given.keys()]).map((n) => [nameKey(n), NOTHING] as const));
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
      if (!this.#gone.has(name)) out.push(name);
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
