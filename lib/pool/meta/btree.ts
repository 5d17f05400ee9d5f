import { internalError, outOfRangeError } from '../../errors';
import {
  BRANCH, HEADER, KEY_MAX, LEAF, PAGE, VALUE_MAX, cellBytes, childOf, countOf, freeBytes, initPage, insertCell, keyOf, kindOf,
  moveCells, removeCell, search, setChild, usedBytes, valueOf,
} from './page';

/** No page: the root of an empty tree. */
export const NO_PAGE = 0xffffffff;
/** A store's `lookup` cannot answer below this page either: read the rest of the way page by page. */
export const PAGE_BY_PAGE = Symbol('page by page');

/**
 * Where a tree's pages live (docs/design.md, "Metadata at device scale"). Pages of the committed trees
 * are read where they lie and never written; a change goes to a copy in the overlay, at a block of its own,
 * which the next checkpoint writes. So a snapshot taken before a change still reads what it read.
 */
export interface PageStore {
  /** The page at block `no`: its overlay copy if it has one, else the committed bytes (not to be written). */
  page(no: number): Buffer;
  /**
   * The value under `key` in the subtree at `no` (a copy; without `copy` an empty stand-in), or null, when the
   * store can search that subtree without reading it page by page. Undefined when `no` is a page it cannot
   * search so but a page below may be (the caller reads `no` and asks again at its child); PAGE_BY_PAGE when
   * the caller must read the rest of the way page by page (those pages may be damaged). Optional.
   */
  lookup?(no: number, key: Buffer, copy?: boolean): Buffer | null | undefined | typeof PAGE_BY_PAGE;
  /**
   * Up to `limit` keys of the subtree at `no` in `range`, in order (copies), and whether the range holds no
   * key after them, when the store can scan that subtree without reading it page by page; undefined when it
   * cannot. Optional.
   */
  scanKeys?(no: number, range: ScanRange, limit: number): { readonly keys: readonly Buffer[]; readonly ended: boolean } | undefined;
  /** As `scanKeys`, the keys as names (UTF-8 strings); undefined too when a key is not one. */
  scanNames?(no: number, range: ScanRange, limit: number): { readonly names: readonly string[]; readonly ended: boolean } | undefined;
  /**
   * A block whose page may be changed, holding what `no` holds: `no` itself when it is already in the
   * overlay, else a copy at a new block (and `no` is released).
   */
  writable(no: number): number;
  /** A new, uninitialised overlay page. */
  allocate(): number;
  /** The tree no longer reaches `no` (free once no snapshot does either). */
  release(no: number): void;
}

/** A position in a tree: the pages from the root down, and the cell index in each. */
interface Step {
  no: number;
  index: number;
}

/** What a scan covers: keys from `from` (inclusive) or after `after` (exclusive), starting with `prefix`. */
export interface ScanRange {
  readonly from?: Buffer;
  readonly after?: Buffer;
  readonly prefix?: Buffer;
}

/** A merge keeps pages at least this full where a neighbour can take the rest. */
const MERGE_BELOW = PAGE / 4;
/**
 * Branch levels above the leaves, more than any tree of 2^32 keys has (each branch has a dozen children at
 * least): a descent that goes deeper is going round a cycle of damaged pages, which a lookup must not follow
 * for ever. Every walk, the addon's too (kTreeSearchMaxPages), allows as many.
 */
export const DEPTH_MAX = 32;
/** Keys a `keys` or `names` scan asks its store for at a time: a listing's batch of names, and more. */
export const KEYS_BATCH = 160;
const NO_NAMES = { names: [], ended: true } as const;

/** A RangeError, as other pages that do not decode: the pool's callers report it as damage. */
function tooDeep(): RangeError {
  return outOfRangeError(`a tree path of more than ${DEPTH_MAX} branch levels (a cycle)`);
}

/**
 * BTree -- a B+tree of byte keys and byte values over a PageStore, copy-on-write: every change copies
 * the pages from the root to the leaf it touches into the overlay (once per checkpoint), so the
 * committed tree stays intact until a checkpoint switches roots. Leaves carry the values; there are no
 * sibling links (a link would make every change copy a neighbour too), so scans keep a path.
 */
export class BTree {
  readonly #store: PageStore;
  root: number;

  constructor(store: PageStore, root = NO_PAGE) {
    this.#store = store;
    this.root = root;
  }

  /**
   * A tree of `entries`, given in strictly increasing key order, built bottom-up in one pass: leaves filled
   * in turn to `fill` of a page (the rest left for later changes), then each level of branches above them.
   * Linear in the entries, where putting them one by one searches from the root for each.
   */
  static fromSorted(store: PageStore, entries: Iterable<readonly [Buffer, Buffer]>, fill = 0.9): BTree {
    const room = Math.floor(fill * (PAGE - HEADER));
    // Room for two of the largest branch cells at least, or a level of branches would never shrink.
    if (!(fill <= 1 && room >= 2 * cellBytes(BRANCH, KEY_MAX, 0))) throw outOfRangeError(`BTree.fromSorted: fill ${fill} leaves no room for two cells a page`);
    function* leafCells(): Generator<readonly [Buffer, Buffer, number]> {
      let last: Buffer | null = null;
      for (const [key, value] of entries) {
        checkCell(key, value);
        if (last !== null && Buffer.compare(last, key) >= 0) throw outOfRangeError('BTree.fromSorted: keys out of order');
        last = key;
        yield [key, value, 0];
      }
    }
    let level = packLevel(store, LEAF, room, leafCells());
    while (level.length > 1) level = packLevel(store, BRANCH, room, level.map(([key, child]) => [key, null, child] as const));
    return new BTree(store, level.length === 0 ? NO_PAGE : (level[0] as [Buffer, number])[1]);
  }

  /** The value stored under `key` (a copy, or a view of its page valid until the tree next changes), or null. */
  get(key: Buffer): Buffer | null {
    return this.#find(key, true);
  }

  /** Is there a value under `key`? As `get`, without making a copy of the value. */
  has(key: Buffer): boolean {
    return this.#find(key, false) !== null;
  }

  /** `get`; without `copy`, a found value may be an empty stand-in. */
  #find(key: Buffer, copy: boolean): Buffer | null {
    if (this.root === NO_PAGE) return null;
    let inPlace = this.#store.lookup !== undefined;
    for (let no = this.root, depth = 0; ; depth++) {
      if (inPlace) {
        const found = this.#store.lookup?.(no, key, copy);
        if (found === PAGE_BY_PAGE) inPlace = false;
        else if (found !== undefined) return found;
      }
      const p = this.#store.page(no);
      if (kindOf(p) !== BRANCH) {
        const i = search(p, key);
        return i >= 0 ? valueOf(p, i) : null;
      }
      if (depth >= DEPTH_MAX) throw tooDeep();
      no = childOf(p, search(p, key));
    }
  }

  /** Stores `value` under `key`, replacing what was there. */
  put(key: Buffer, value: Buffer): void {
    checkCell(key, value);
    if (this.root === NO_PAGE) {
      const no = this.#store.allocate();
      initPage(this.#store.page(no), LEAF);
      this.root = no;
    }
    const path = this.#writablePath(key);
    const leaf = path[path.length - 1] as Step;
    const p = this.#store.page(leaf.no);
    let i = search(p, key);
    if (i >= 0) removeCell(p, i);
    else i = -i - 1;
    if (!insertCell(p, i, key, value)) this.#splitInsert(path, path.length - 1, i, key, value, 0);
  }

  /** Removes `key`; false if it was not there (and then nothing is copied). */
  delete(key: Buffer): boolean {
    if (!this.has(key)) return false;
    const path = this.#writablePath(key);
    const leaf = path[path.length - 1] as Step;
    removeCell(this.#store.page(leaf.no), search(this.#store.page(leaf.no), key));
    this.#rebalance(path);
    return true;
  }

  /**
   * The keys of `range`, in order, as `entries` gives them: scanned by the store where it can (a batch of
   * keys a call), else page by page. Copies, which stay valid when the tree changes.
   */
  *keys(range: ScanRange = {}): Generator<Buffer> {
    if (this.root === NO_PAGE) return;
    let last: Buffer | null = null;
    for (let from = range; ;) {
      const batch = this.#store.scanKeys?.(this.root, from, KEYS_BATCH);
      if (batch === undefined) {
        // Page by page, held to rising keys as the store's scan is: a damaged tree whose keys go back would
        // otherwise have a caller that goes on after the last key it saw (a listing) go round for ever.
        for (const [key] of this.entries(from)) {
          if (last !== null && key.compare(last) <= 0) throw outOfRangeError('tree keys out of order');
          last = Buffer.from(key);
          yield last;
        }
        return;
      }
      yield* batch.keys;
      last = batch.keys[batch.keys.length - 1] ?? last;
      if (batch.ended || batch.keys.length === 0 || last === null) return;
      from = { ...(range.prefix === undefined ? {} : { prefix: range.prefix }), after: last };
    }
  }

  /**
   * The first keys of `range` as names, for the names tree (a batch: the caller goes on after the last), and
   * whether the range ends with them: strings the store makes where the pages lie, or where it cannot (no
   * in-place reads, damage, a key that is no name) `decode` of each key read page by page, which reports the
   * damage. A batch, not a generator: a listing's first run in a process, interpreted, paid for every resume.
   */
  names(range: ScanRange, decode: (key: Buffer) => string): { readonly names: readonly string[]; readonly ended: boolean } {
    if (this.root === NO_PAGE) return NO_NAMES;
    const batch = this.#store.scanNames?.(this.root, range, KEYS_BATCH);
    if (batch !== undefined) return batch;
    const names: string[] = [];
    for (const key of this.keys(range)) {
      if (names.length === KEYS_BATCH) return { names, ended: false };
      names.push(decode(key));
    }
    return { names, ended: true };
  }

  /** The entries in key order over `range`, as views of their pages: the tree must not change during a scan. */
  *entries(range: ScanRange = {}): Generator<[Buffer, Buffer]> {
    if (this.root === NO_PAGE) return;
    const start = scanStart(range);
    const path: Step[] = [];
    let no = this.root;
    for (;;) {
      const p = this.#store.page(no);
      if (kindOf(p) === LEAF) {
        const i = search(p, start);
        path.push({ no, index: i >= 0 ? i : -i - 1 });
        break;
      }
      const i = search(p, start);
      path.push({ no, index: i });
      if (path.length > DEPTH_MAX) throw tooDeep();
      no = childOf(p, i);
    }
    // The first key reached is never below the start in a sound tree; a damaged separator (its checksum right)
    // sends the descent to keys before it, which a caller going on after the last key it saw would take
    // again and again.
    let first = true;
    for (;;) {
      const step = path[path.length - 1] as Step;
      const p = this.#store.page(step.no);
      if (step.index < countOf(p)) {
        const key = keyOf(p, step.index);
        step.index++;
        if (first && key.compare(start) < 0) throw outOfRangeError('tree keys out of order');
        first = false;
        if (range.after !== undefined && key.equals(range.after)) continue;
        if (range.prefix !== undefined && !startsWith(key, range.prefix)) return;
        yield [key, valueOf(p, step.index - 1)];
        continue;
      }
      // This leaf is done: up to the first ancestor with a child left, then down its leftmost path.
      path.pop();
      let up: Step | undefined;
      while ((up = path[path.length - 1]) !== undefined && up.index + 1 >= countOf(this.#store.page(up.no))) path.pop();
      if (up === undefined) return;
      up.index++;
      let child = childOf(this.#store.page(up.no), up.index);
      for (;;) {
        const c = this.#store.page(child);
        path.push({ no: child, index: 0 });
        if (kindOf(c) === LEAF) break;
        if (path.length > DEPTH_MAX) throw tooDeep();
        child = childOf(c, 0);
      }
    }
  }

  /** The path to the leaf for `key`, every page of it made writable (copied into the overlay). */
  #writablePath(key: Buffer): Step[] {
    const store = this.#store;
    const path: Step[] = [];
    let no = store.writable(this.root);
    this.root = no;
    for (;;) {
      const p = store.page(no);
      if (kindOf(p) === LEAF) {
        path.push({ no, index: 0 });
        return path;
      }
      const i = search(p, key);
      path.push({ no, index: i });
      if (path.length > DEPTH_MAX) throw tooDeep();
      const child = store.writable(childOf(p, i));
      setChild(p, i, child);
      no = child;
    }
  }

  /**
   * Page `path[level]` has no room for its new cell at `i`: split it in two by bytes, put the cell in the
   * half it belongs to, and add the right half to the parent (splitting that in turn, up to a new root).
   */
  #splitInsert(path: Step[], level: number, i: number, key: Buffer, value: Buffer | null, child: number): void {
    const store = this.#store;
    const leftNo = (path[level] as Step).no;
    const left = store.page(leftNo);
    const kind = kindOf(left);
    const rightNo = store.allocate();
    const right = store.page(rightNo);
    initPage(right, kind);
    // Split the n + 1 cells (the new one at i) at k, 1 <= k <= n, where the left part reaches half the bytes:
    // both halves keep a cell. Old cells from `at` on go right; the new cell goes left if i < k.
    const n = countOf(left);
    const newBytes = cellBytes(kind, key.length, value?.length ?? 0);
    const half = (usedBytes(left) + newBytes) / 2;
    let k = 0;
    for (let bytes = 0; k < n && bytes < half; k++) bytes += k === i ? newBytes : cellSize(left, k < i ? k : k - 1);
    k = Math.max(k, 1);
    const at = k <= i ? k : k - 1;
    moveCells(left, at, right);
    const ok = i < k ? insertCell(left, i, key, value, child) : insertCell(right, i - at, key, value, child);
    if (!ok) throw internalError('BTree: a cell does not fit in half a page');
    const separator = Buffer.from(keyOf(right, 0));
    if (level === 0) {
      const rootNo = store.allocate();
      const root = store.page(rootNo);
      initPage(root, BRANCH);
      insertCell(root, 0, Buffer.alloc(0), null, leftNo);
      insertCell(root, 1, separator, null, rightNo);
      this.root = rootNo;
      return;
    }
    const parent = path[level - 1] as Step;
    const pp = store.page(parent.no);
    if (!insertCell(pp, parent.index + 1, separator, null, rightNo)) this.#splitInsert(path, level - 1, parent.index + 1, separator, null, rightNo);
  }

  /** After a removal from the leaf at the end of `path`: drop empty pages, merge thin ones, shrink the root. */
  #rebalance(path: Step[]): void {
    const store = this.#store;
    for (let level = path.length - 1; level > 0; level--) {
      const no = (path[level] as Step).no;
      const p = store.page(no);
      const parent = path[level - 1] as Step;
      const pp = store.page(parent.no);
      if (countOf(p) === 0) {
        removeCell(pp, parent.index);
        store.release(no);
        continue;
      }
      if (usedBytes(p) >= MERGE_BELOW || countOf(pp) < 2) break;
      // Merge with the right neighbour when there is one, else into the left one, if the two fit in a page.
      const [li, ri] = parent.index + 1 < countOf(pp) ? [parent.index, parent.index + 1] : [parent.index - 1, parent.index];
      const leftNo = store.writable(childOf(pp, li));
      setChild(pp, li, leftNo);
      const rightNo = store.writable(childOf(pp, ri));
      setChild(pp, ri, rightNo);
      const left = store.page(leftNo);
      const right = store.page(rightNo);
      if (usedBytes(right) > freeBytes(left)) break;
      if (kindOf(right) === BRANCH) {
        // The right page's first key may be stale (a branch searches past it): its parent's key is exact.
        const sep = Buffer.from(keyOf(pp, ri));
        const child0 = childOf(right, 0);
        removeCell(right, 0);
        insertCell(right, 0, sep, null, child0);
      }
      moveCells(right, 0, left);
      removeCell(pp, ri);
      store.release(rightNo);
    }
    const root = store.page(this.root);
    if (countOf(root) === 0) {
      store.release(this.root);
      this.root = NO_PAGE;
    } else if (kindOf(root) === BRANCH && countOf(root) === 1) {
      const only = childOf(root, 0);
      store.release(this.root);
      this.root = only;
    }
  }
}

/**
 * Lays `cells` (key, value or null, child), in order, into new pages of `kind`, each filled up to `room`
 * bytes; returns each page's first key and block, in order: the level above's cells.
 */
function packLevel(store: PageStore, kind: number, room: number, cells: Iterable<readonly [Buffer, Buffer | null, number]>): [Buffer, number][] {
  const level: [Buffer, number][] = [];
  let page: Buffer | null = null;
  for (const [key, value, child] of cells) {
    if (page === null || usedBytes(page) + cellBytes(kind, key.length, value?.length ?? 0) > room) {
      const no = store.allocate();
      page = store.page(no);
      initPage(page, kind);
      level.push([Buffer.from(key), no]);
    }
    if (!insertCell(page, countOf(page), key, value, child)) throw internalError('BTree.fromSorted: a cell does not fit a new page');
  }
  return level;
}

function cellSize(p: Buffer, i: number): number {
  const leaf = kindOf(p) === LEAF;
  return cellBytes(kindOf(p), keyOf(p, i).length, leaf ? valueOf(p, i).length : 0);
}

/** Where a scan of `range` starts: the later of its bound and its prefix (keys between them cannot match). */
export function scanStart(range: ScanRange): Buffer {
  const bound = range.after ?? range.from;
  const prefix = range.prefix;
  return prefix !== undefined && (bound === undefined || bound.compare(prefix) < 0) ? prefix : bound ?? NO_KEY;
}

const NO_KEY = Buffer.alloc(0);

function startsWith(key: Buffer, prefix: Buffer): boolean {
  return key.length >= prefix.length && key.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

function checkCell(key: Buffer, value: Buffer): void {
  if (key.length > KEY_MAX) throw outOfRangeError(`BTree: key of ${key.length} bytes (at most ${KEY_MAX})`);
  if (value.length > VALUE_MAX) throw outOfRangeError(`BTree: value of ${value.length} bytes (at most ${VALUE_MAX})`);
}
