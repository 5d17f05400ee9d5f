import type { DaxDevice } from '../../device/types';
import { crc32c } from '../crc32c';
import { corrupt } from '../errors';
import { BLOCK, bitmapPages, type Superblock } from '../layout';
import { readMeta } from '../meta-io';

/**
 * The block bitmap of a format-2 checkpoint (docs/format.md, "Bitmap copies"): two copies at fixed
 * blocks, the checkpoint of epoch `e` in copy `e & 1`, so a checkpoint writes the copy the committed one
 * does not use. Each copy is the bit pages, then a CRC-32C per bit page. A checkpoint writes only the pages
 * that differ from what that copy holds: those changed since the last checkpoint and the one before.
 */
export class BitmapCopies {
  /** The bitmap each copy holds, as last written or read, and its pages' CRCs (null: not known, written whole). */
  readonly #held: [Held | null, Held | null] = [null, null];

  /** What either copy holds is not known (a grow moved both): the next write of each is whole. */
  forget(): void {
    this.#held[0] = null;
    this.#held[1] = null;
  }

  /** The bitmap of the checkpoint `sb` describes, each page checked against its CRC. */
  read(device: DaxDevice, path: string, sb: Superblock, words: number): Uint32Array {
    const copy = sb.epoch & 1;
    const at = (sb.bitmapAt[copy] as number) * BLOCK;
    const pages = bitmapPages(sb.blocks);
    const bytes = readMeta(device, path, at, sb.bitmapBlocks * BLOCK, 'bitmap');
    const crcs = new Uint32Array(pages);
    crcs.set(new Uint32Array(bytes.slice(pages * BLOCK, pages * BLOCK + pages * 4).buffer));
    for (let i = 0; i < pages; i++) {
      if (crc32c(bytes, i * BLOCK, (i + 1) * BLOCK) !== crcs[i]) {
        throw corrupt(path, 'bitmap', at + i * BLOCK, `checksum mismatch (copy ${copy}, page ${i})`);
      }
    }
    const bits = new Uint32Array(words);
    bits.set(new Uint32Array(bytes.buffer, bytes.byteOffset, words));
    this.#held[copy] = { bits: bits.slice(), crcs };
    return bits;
  }

  /**
   * Store `bits` as the bitmap of a checkpoint of epoch `epoch` in its copy, durable on return: the pages
   * that differ from what the copy holds (all of them if that is not known), and their CRCs.
   */
  write(device: DaxDevice, sb: Superblock, epoch: number, bits: Uint32Array): void {
    const copy = epoch & 1;
    const at = (sb.bitmapAt[copy] as number) * BLOCK;
    const pages = bitmapPages(sb.blocks);
    const was = this.#held[copy] ?? null;
    const known = was !== null && was.bits.length === bits.length ? was : null;
    // Unknown until every write below returned: after a failure part-way the next checkpoint writes the copy whole.
    this.#held[copy] = null;
    const bytes = new Uint8Array(pages * BLOCK);
    bytes.set(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
    const crcs = known?.crcs.slice() ?? new Uint32Array(pages);
    const wordsPerPage = BLOCK / 4;
    let lo = pages;
    let hi = -1;
    for (let i = 0; i < pages; ) {
      if (known !== null && samePage(known.bits, bits, i * wordsPerPage, wordsPerPage)) {
        i++;
        continue;
      }
      // A run of changed pages, one copy.
      let j = i;
      while (j < pages && (known === null || !samePage(known.bits, bits, j * wordsPerPage, wordsPerPage))) {
        crcs[j] = crc32c(bytes, j * BLOCK, (j + 1) * BLOCK);
        j++;
      }
      device.copy(at + i * BLOCK, bytes.subarray(i * BLOCK, j * BLOCK));
      lo = Math.min(lo, i);
      hi = j;
      i = j;
    }
    if (hi > lo) device.copy(at + pages * BLOCK + lo * 4, new Uint8Array(crcs.buffer, lo * 4, (hi - lo) * 4));
    this.#held[copy] = { bits: bits.slice(), crcs };
  }
}

interface Held {
  readonly bits: Uint32Array;
  readonly crcs: Uint32Array;
}

function samePage(a: Uint32Array, b: Uint32Array, from: number, n: number): boolean {
  const end = Math.min(from + n, b.length);
  for (let i = from; i < end; i++) if (a[i] !== b[i]) return false;
  return true;
}
