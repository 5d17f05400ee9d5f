import { internalError } from '../errors';
import { DaxEntry } from './entry';

const SHIFT = 6;
const FANOUT = 64;
const MASK = FANOUT - 1;

/** Indices spanned by one slot of a node at each shift (64^level); exact up to 2^53. */
const SPAN: number[] = [];
for (let s = 0; s <= 54; s += SHIFT) SPAN[s] = 2 ** s;

function span(shift: number): number {
  return SPAN[shift] ?? 2 ** shift;
}

/** Slot of `index` in a node of `shift`: `(index / 64^level) & 63`, exact for all safe integers. */
function slotOf(index: number, shift: number): number {
  return (index / span(shift)) & MASK;
}

/**
 * A radix node. At shift 0 the slots hold PTE entries; at shift 6 they hold leaf nodes or PMD
 * entries (one PMD entry fills 8 consecutive slots, like the XArray's sibling entries); above that,
 * nodes only.
 */
class Node {
  readonly shift: number;
  readonly slots: (Node | DaxEntry | undefined)[];
  count = 0;

  constructor(shift: number) {
    this.shift = shift;
    this.slots = new Array<Node | DaxEntry | undefined>(FANOUT).fill(undefined);
  }
}

/**
 * EntryTree -- the per-file index→entry map (the kernel's `i_pages`). A 64-way radix tree: lookups
 * and "first entry in range" searches cost O(height), height ≤ 9 for any safe index. Entries never
 * overlap; inserting over an occupied slot is a bug and throws.
 */
export class EntryTree {
  private root = new Node(SHIFT);
  private entries = 0;

  /** Number of entries (a PMD entry counts once). */
  get size(): number {
    return this.entries;
  }

  /** The entry covering `index`, if any. */
  load(index: number): DaxEntry | undefined {
    if (index >= this.limit()) return undefined;
    let node: Node = this.root;
    for (;;) {
      const slot = node.slots[slotOf(index, node.shift)];
      if (slot === undefined || slot instanceof DaxEntry) return slot;
      node = slot;
    }
  }

  /** The first entry overlapping `[first, last]` (inclusive), in index order. */
  findFirst(first: number, last: number): DaxEntry | undefined {
    if (last < first) return undefined;
    return scan(this.root, 0, first, Math.min(last, this.limit() - 1));
  }

  /** Store `e`, which must not overlap any entry already present. */
  insert(e: DaxEntry): void {
    const last = e.index + e.pages - 1;
    while (last >= this.limit()) this.grow();
    const target = e.order === 0 ? 0 : SHIFT;
    let node = this.root;
    while (node.shift > target) {
      const i = slotOf(e.index, node.shift);
      const child = node.slots[i];
      if (child instanceof DaxEntry) throw internalError(`entry tree: index ${e.index} overlaps entry at ${child.index}`);
      if (child === undefined) {
        const made = new Node(node.shift - SHIFT);
        node.slots[i] = made;
        node.count++;
        node = made;
      } else {
        node = child;
      }
    }
    const first = slotOf(e.index, node.shift);
    const n = e.order === 0 ? 1 : 8;
    for (let i = first; i < first + n; i++) {
      if (node.slots[i] !== undefined) throw internalError(`entry tree: index ${e.index} is occupied`);
    }
    for (let i = first; i < first + n; i++) node.slots[i] = e;
    node.count += n;
    this.entries++;
  }

  /** Remove `e` (which must be the entry stored at its index); empty nodes are freed. */
  remove(e: DaxEntry): void {
    const path: Node[] = [];
    const target = e.order === 0 ? 0 : SHIFT;
    let node = this.root;
    while (node.shift > target) {
      path.push(node);
      const child = node.slots[slotOf(e.index, node.shift)];
      if (!(child instanceof Node)) throw internalError(`entry tree: no entry at ${e.index}`);
      node = child;
    }
    const first = slotOf(e.index, node.shift);
    const n = e.order === 0 ? 1 : 8;
    if (node.slots[first] !== e) throw internalError(`entry tree: a different entry is stored at ${e.index}`);
    for (let i = first; i < first + n; i++) node.slots[i] = undefined;
    node.count -= n;
    this.entries--;
    // Free nodes that became empty, bottom-up; the root stays.
    while (node.count === 0 && path.length > 0) {
      const parent = path.pop() as Node;
      parent.slots[slotOf(e.index, parent.shift)] = undefined;
      parent.count--;
      node = parent;
    }
  }

  /** Every entry overlapping `[first, last]`, in order (for checks and reports, not hot paths). */
  collect(first: number, last: number, out: DaxEntry[] = []): DaxEntry[] {
    let cursor = first;
    for (;;) {
      const e = this.findFirst(cursor, last);
      if (e === undefined) return out;
      out.push(e);
      cursor = e.index + e.pages;
    }
  }

  /** One past the largest index the current root can hold. */
  private limit(): number {
    return span(this.root.shift) * FANOUT;
  }

  private grow(): void {
    const up = new Node(this.root.shift + SHIFT);
    if (this.root.count > 0) {
      up.slots[0] = this.root;
      up.count = 1;
    }
    this.root = up;
  }
}

/** First entry in `node` (whose first index is `base`) overlapping `[first, last]`. */
function scan(node: Node, base: number, first: number, last: number): DaxEntry | undefined {
  if (node.count === 0) return undefined;
  const w = span(node.shift);
  const from = first > base ? Math.floor((first - base) / w) : 0;
  const to = Math.min(MASK, Math.floor((last - base) / w));
  for (let i = from; i <= to; i++) {
    const slot = node.slots[i];
    if (slot === undefined) continue;
    if (slot instanceof DaxEntry) return slot;
    const found = scan(slot, base + i * w, first, last);
    if (found !== undefined) return found;
  }
  return undefined;
}
