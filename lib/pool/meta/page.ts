/**
 * The B+tree page of format 2 (docs/design.md, "Metadata at device scale"): 4096 bytes, a slotted page.
 *
 *   0  u16 kind (1 leaf, 2 branch)     2  u16 cell count      4  u16 start of the cell area
 *   6  u16 bytes of dead cells          8  u32 CRC-32C of the page (set when a checkpoint writes it)
 *  12  u32 reserved (0)                16  u16 cell offsets, in key order ...   ... cells, from the end down
 *
 * A leaf cell is key length u16, value length u16, key, value. A branch cell is key length u16, child
 * block u32, key: child i holds the keys >= key i (and < key i+1); the first key of a branch is empty.
 * Keys compare as bytes. Searches run on the page's bytes where they lie (the mapping or an overlay
 * copy), without decoding it.
 */
import { internalError } from '../../errors';

export const PAGE = 4096;
export const HEADER = 16;
export const LEAF = 1;
export const BRANCH = 2;
/** The longest key: a name of 255 bytes, or an inode number with a page. */
export const KEY_MAX = 255;
/** The longest value, so that any three cells fit in a page with room to spare. */
export const VALUE_MAX = 1024;

export function kindOf(p: Buffer): number {
  return u16(p, 0);
}

export function countOf(p: Buffer): number {
  return u16(p, 2);
}

export function initPage(p: Buffer, kind: number): void {
  p.fill(0, 0, HEADER);
  p.writeUInt16LE(kind, 0);
  p.writeUInt16LE(PAGE, 4);
}

/** The u16 at `at`: plain byte arithmetic, which the search loop runs faster than `readUInt16LE`. */
function u16(p: Buffer, at: number): number {
  return (p[at] as number) | ((p[at + 1] as number) << 8);
}

/** Offset of cell `i`. */
function cellAt(p: Buffer, i: number): number {
  return u16(p, HEADER + 2 * i);
}

export function keyLength(p: Buffer, i: number): number {
  return u16(p, cellAt(p, i));
}

/** Where cell `i`'s key starts. */
export function keyOffset(p: Buffer, i: number): number {
  return cellAt(p, i) + (u16(p, 0) === LEAF ? 4 : 6);
}

export function keyOf(p: Buffer, i: number): Buffer {
  const at = keyOffset(p, i);
  return p.subarray(at, at + keyLength(p, i));
}

/**
 * Compares `key` with cell `i`'s key, as bytes. A loop here, not `Buffer.compare`: keys are short and
 * mostly differ early, and a call into C++ per comparison costs more than the bytes.
 */
export function compareKey(key: Buffer, p: Buffer, i: number): number {
  const c = cellAt(p, i);
  const len = u16(p, c);
  const at = c + (u16(p, 0) === LEAF ? 4 : 6);
  const n = Math.min(key.length, len);
  for (let j = 0; j < n; j++) {
    const d = (key[j] as number) - (p[at + j] as number);
    if (d !== 0) return d;
  }
  return key.length - len;
}

/** The value of leaf cell `i`, a view of the page. */
export function valueOf(p: Buffer, i: number): Buffer {
  const c = cellAt(p, i);
  const at = c + 4 + p.readUInt16LE(c);
  return p.subarray(at, at + p.readUInt16LE(c + 2));
}

export function childOf(p: Buffer, i: number): number {
  const at = cellAt(p, i) + 2;
  return (u16(p, at) + u16(p, at + 2) * 0x10000);
}

export function setChild(p: Buffer, i: number, block: number): void {
  p.writeUInt32LE(block, cellAt(p, i) + 2);
}

/**
 * In a leaf: the index of `key`, or -(insertion point) - 1. In a branch: the child that covers `key`
 * (the last cell whose key is <= it).
 */
export function search(p: Buffer, key: Buffer): number {
  let lo = 0;
  let hi = u16(p, 2) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKey(key, p, mid);
    if (c === 0) return mid;
    if (c > 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return u16(p, 0) === LEAF ? -lo - 1 : Math.max(0, lo - 1);
}

/** Cell extents of one page, packed as offset × PAGE + length, for `pageProblem` (one page at a time). */
const spans = new Float64Array(PAGE / 2);

/**
 * Why `p` is not a well-formed page, or null: its slots and cells inside the page, the cells apart from one
 * another and from the slots, and the dead bytes what the cell area leaves (a page's CRC says it is as
 * written, not that it was written right). `apart: false` leaves out whether cells overlap (a sort of them):
 * every read of a cell stays inside the page without it, and a page that changes, or a walk, checks it whole.
 */
export function pageProblem(p: Buffer, apart = true): string | null {
  const kind = u16(p, 0);
  const n = u16(p, 2);
  const start = u16(p, 4);
  if (HEADER + 2 * n > start || start > PAGE) return `${n} cells with the cell area from byte ${start}`;
  let live = 0;
  for (let i = 0; i < n; i++) {
    const c = cellAt(p, i);
    // A leaf cell's head is 4 bytes: one with a 1-byte key and no value ends the page 5 bytes after it starts.
    if (c < start || c + (kind === LEAF ? 4 : 6) > PAGE) return `cell ${i} at byte ${c}, outside the cell area`;
    const keyLen = u16(p, c);
    const valueLen = kind === LEAF ? u16(p, c + 2) : 0;
    if (keyLen > KEY_MAX || valueLen > VALUE_MAX) return `cell ${i} has a key of ${keyLen} bytes and a value of ${valueLen}`;
    const len = cellBytes(kind, keyLen, valueLen) - 2;
    if (c + len > PAGE) return `cell ${i} runs past the page`;
    spans[i] = c * PAGE + len;
    live += len;
  }
  if (live + u16(p, 6) !== PAGE - start) return `${u16(p, 6)} dead bytes where the cell area leaves ${PAGE - start - live}`;
  if (!apart) return null;
  const sorted = spans.subarray(0, n).sort();
  for (let i = 1; i < n; i++) {
    const prev = sorted[i - 1] as number;
    if (Math.floor((sorted[i] as number) / PAGE) < Math.floor(prev / PAGE) + (prev % PAGE)) return 'two cells overlap';
  }
  if (live + u16(p, 6) !== PAGE - start) return `${u16(p, 6)} dead bytes where the cell area leaves ${PAGE - start - live}`;
  return null;
}

/** Bytes a cell takes, its slot included. */
export function cellBytes(kind: number, keyLen: number, valueLen: number): number {
  return 2 + (kind === LEAF ? 4 + keyLen + valueLen : 6 + keyLen);
}

/** Bytes free for new cells once dead ones are compacted away. */
export function freeBytes(p: Buffer): number {
  return p.readUInt16LE(4) - (HEADER + 2 * countOf(p)) + p.readUInt16LE(6);
}

/** Bytes the live cells take, slots included. */
export function usedBytes(p: Buffer): number {
  return PAGE - HEADER - freeBytes(p);
}

/** Rewrites the cell area without dead cells (same order, same contents). */
function compact(p: Buffer): void {
  const copy = Buffer.from(p);
  const n = countOf(p);
  let end = PAGE;
  for (let i = 0; i < n; i++) {
    const c = cellAt(copy, i);
    const len = cellBytes(kindOf(copy), copy.readUInt16LE(c), kindOf(copy) === LEAF ? copy.readUInt16LE(c + 2) : 0) - 2;
    end -= len;
    copy.copy(p, end, c, c + len);
    p.writeUInt16LE(end, HEADER + 2 * i);
  }
  p.writeUInt16LE(end, 4);
  p.writeUInt16LE(0, 6);
}

/** Room for a cell of `bytes` (slot included), compacting if that makes it; false if it cannot fit. */
function makeRoom(p: Buffer, bytes: number): boolean {
  if (freeBytes(p) < bytes) return false;
  if (p.readUInt16LE(4) - (HEADER + 2 * countOf(p)) < bytes) compact(p);
  return true;
}

/** Inserts a cell at index `i`; false (page unchanged) if it does not fit. */
export function insertCell(p: Buffer, i: number, key: Buffer, value: Buffer | null, child = 0): boolean {
  const kind = kindOf(p);
  const bytes = cellBytes(kind, key.length, value?.length ?? 0);
  if (!makeRoom(p, bytes)) return false;
  const n = countOf(p);
  const at = p.readUInt16LE(4) - (bytes - 2);
  p.writeUInt16LE(key.length, at);
  if (kind === LEAF) {
    const v = value as Buffer;
    p.writeUInt16LE(v.length, at + 2);
    key.copy(p, at + 4);
    v.copy(p, at + 4 + key.length);
  } else {
    p.writeUInt32LE(child, at + 2);
    key.copy(p, at + 6);
  }
  p.copyWithin(HEADER + 2 * (i + 1), HEADER + 2 * i, HEADER + 2 * n);
  p.writeUInt16LE(at, HEADER + 2 * i);
  p.writeUInt16LE(n + 1, 2);
  p.writeUInt16LE(at, 4);
  return true;
}

/** Removes cell `i` (its bytes become dead until the next compaction). */
export function removeCell(p: Buffer, i: number): void {
  const n = countOf(p);
  const c = cellAt(p, i);
  const dead = cellBytes(kindOf(p), p.readUInt16LE(c), kindOf(p) === LEAF ? p.readUInt16LE(c + 2) : 0) - 2;
  p.copyWithin(HEADER + 2 * i, HEADER + 2 * (i + 1), HEADER + 2 * n);
  p.writeUInt16LE(n - 1, 2);
  p.writeUInt16LE(p.readUInt16LE(6) + dead, 6);
}

/** Moves cells `[from, count)` of `src` to the end of `dst` (same kind), in order. */
export function moveCells(src: Buffer, from: number, dst: Buffer): void {
  const n = countOf(src);
  const leaf = kindOf(src) === LEAF;
  for (let i = from; i < n; i++) {
    const ok = insertCell(dst, countOf(dst), keyOf(src, i), leaf ? valueOf(src, i) : null, leaf ? 0 : childOf(src, i));
    if (!ok) throw internalError('moveCells: destination page full');
  }
  for (let i = n - 1; i >= from; i--) removeCell(src, i);
}
