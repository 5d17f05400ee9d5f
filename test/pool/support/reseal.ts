import { crc32c } from '../../../lib/pool/crc32c';
import { BLOCK, bitmapPages, decodeSuperblock, isSuperblock } from '../../../lib/pool/layout';
import { pageCrc } from '../../../lib/pool/meta/page-store';
import type { PoolMetadataRange } from '../../../lib';

// Where the format keeps its checksums (docs/format.md). `sealer` checks them against a real pool
// first, so a format change fails loudly here instead of making the fuzzing quietly shallow.
const SB_CRC_AT = BLOCK - 4;
const PAGE_CRC_AT = 8;
const JOURNAL_MAGIC = 0x4345524a;
const RECORD_HEADER = 32;
const RECORD_ALIGN = 64;

const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0, true);
const putU32 = (b: Uint8Array, at: number, v: number): void => new DataView(b.buffer, b.byteOffset + at, 4).setUint32(0, v >>> 0, true);

function area(ranges: readonly PoolMetadataRange[], name: string): PoolMetadataRange {
  const r = ranges.find((x) => x.area === name);
  if (r === undefined) throw new Error(`no ${name} in the metadata ranges`);
  return r;
}

/** Journal records from the start of the area while their headers look like records: [offset, end of checksummed bytes]. */
function records(image: Uint8Array, j: PoolMetadataRange): [number, number][] {
  const out: [number, number][] = [];
  for (let pos = 0; pos + RECORD_HEADER <= j.length; ) {
    const at = j.offset + pos;
    if (u32(image, at) !== JOURNAL_MAGIC) break;
    const end = pos + RECORD_HEADER + u32(image, at + 24);
    if (end > j.length) break;
    out.push([at, j.offset + end]);
    pos += Math.ceil((RECORD_HEADER + u32(image, at + 24)) / RECORD_ALIGN) * RECORD_ALIGN;
  }
  return out;
}

/**
 * sealer -- for a pool image and its metadata ranges, a function that recomputes every checksum
 * over corrupted metadata (journal records, tree pages, the bitmap copies' page CRCs, the superblocks'
 * own), so that corruption reaches the decoders and validation behind the checksums.
 */
export function sealer(base: Uint8Array, ranges: readonly PoolMetadataRange[]): (image: Uint8Array) => void {
  const sb0 = area(ranges, 'primary superblock');
  const sb1 = area(ranges, 'backup superblock');
  const journal = area(ranges, 'journal');
  const trees = ranges.filter((r) => r.area === 'tree');
  const bitmaps = ranges.filter((r) => r.area === 'bitmap');
  if (bitmaps.length !== 2) throw new Error('not two bitmap copies in the metadata ranges');
  const sb = decodeSuperblock(base.subarray(sb0.offset, sb0.offset + BLOCK));
  if (!isSuperblock(sb)) throw new Error(`base superblock: ${typeof sb === 'string' ? sb : 'another version'}`);
  const bitPages = bitmapPages(sb.blocks);
  const treePages = (image: Uint8Array, fn: (at: number) => void): void => {
    for (const r of trees) for (let at = r.offset; at < r.offset + r.length; at += BLOCK) fn(at);
  };
  const pageCrcOf = (image: Uint8Array, at: number): number => pageCrc(Buffer.from(image.buffer, image.byteOffset + at, BLOCK));
  treePages(base, (at) => {
    if (u32(base, at + PAGE_CRC_AT) !== pageCrcOf(base, at)) throw new Error('a tree page CRC is not where the sealer expects it');
  });
  // metadataRanges lists the copy in use first.
  const current = bitmaps[0] as PoolMetadataRange;
  for (let i = 0; i < bitPages; i++) {
    const at = current.offset + i * BLOCK;
    if (u32(base, current.offset + bitPages * BLOCK + 4 * i) !== crc32c(base, at, at + BLOCK)) throw new Error('a bitmap page CRC is not where the sealer expects it');
  }
  if (u32(base, sb0.offset + SB_CRC_AT) !== crc32c(base, sb0.offset, sb0.offset + SB_CRC_AT)) throw new Error('the superblock CRC is not where the sealer expects it');
  for (const [at, end] of records(base, journal)) {
    if (u32(base, at + 4) !== crc32c(base, at + 8, end)) throw new Error('a journal record CRC is not where the sealer expects it');
  }
  return (image) => {
    for (const [at, end] of records(image, journal)) putU32(image, at + 4, crc32c(image, at + 8, end));
    treePages(image, (at) => putU32(image, at + PAGE_CRC_AT, pageCrcOf(image, at)));
    for (const copy of bitmaps) {
      for (let i = 0; i < bitPages; i++) putU32(image, copy.offset + bitPages * BLOCK + 4 * i, crc32c(image, copy.offset + i * BLOCK, copy.offset + (i + 1) * BLOCK));
    }
    for (const s of [sb0, sb1]) putU32(image, s.offset + SB_CRC_AT, crc32c(image, s.offset, s.offset + SB_CRC_AT));
  };
}
