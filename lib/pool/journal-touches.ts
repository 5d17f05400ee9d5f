import { native } from '../native';
import { IntSet } from './int-set';
import type { RecordList } from './record-list';

/** Cells of the buffer `journalTouches` reports into: a refresh bringing more entries than this changes everything. */
const CELLS = 1 << 16;
const encoder = new TextEncoder();
/** A name's UTF-8 bytes (at most NAME_MAX, 255) for `nameHash`. */
const NAME_BYTES = new Uint8Array(1024);

/**
 * FNV-1a of `name`'s UTF-8 bytes, its top 30 bits (a small integer, which a Set keeps without allocating),
 * as native/journal_touches.cpp hashes the names of records.
 */
export function nameHash(name: string): number {
  const n = encoder.encodeInto(name, NAME_BYTES).written;
  let h = 2166136261;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ (NAME_BYTES[i] as number), 16777619);
  return h >>> 2;
}

/**
 * JournalTouches -- what the records a reader found and has not applied change (Journal's backlog): the
 * inodes they name, and hashes of the names they give. A call about an inode or a name none of them touch
 * answers from the state as it is; any other applies them first. Records whose changes cannot be told apart
 * (a block's reference count changed, which any file may show; an operation the index could not read; an
 * addon without `journalTouches`) touch everything.
 */
export class JournalTouches {
  readonly #inos = new IntSet();
  readonly #names = new IntSet();
  #everything = false;
  #cells: Uint32Array | null = null;

  /**
   * Take in the records starting at journal offset `at` whose ends and counts are the pairs of `found` from
   * cell `from` on, their bytes in `bytes` from journal offset `base` on.
   */
  add(bytes: Uint8Array, base: number, at: number, found: RecordList, from: number): void {
    const n = (found.length - from) / 2;
    if (n === 0 || this.#everything) return;
    const index = native.journalTouches;
    const cells = (this.#cells ??= new Uint32Array(CELLS));
    if (index === undefined || index(bytes, base, at, found.cells, from, n, cells) < 0 || (cells[2] as number) !== 0) {
      this.#everything = true;
      return;
    }
    const inos = cells[0] as number;
    for (let k = 3; k < 3 + inos; k++) this.#inos.add(cells[k] as number);
    const names = cells[1] as number;
    for (let k = CELLS - names; k < CELLS; k++) this.#names.add(cells[k] as number);
  }

  /** Do the records change inode `ino`? */
  inode(ino: number): boolean {
    return this.#everything || this.#inos.has(ino);
  }

  /** Do they give the name `name` (or one of its hash) to some inode? */
  name(name: string): boolean {
    return this.#everything || this.#names.has(nameHash(name));
  }

  /** The records were applied (or dropped with the state). */
  clear(): void {
    this.#inos.clear();
    this.#names.clear();
    this.#everything = false;
  }
}
