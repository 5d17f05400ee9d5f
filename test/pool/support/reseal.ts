import { crc32c } from '../../../lib/pool/crc32c';
import { BLOCK, decodeSuperblock, encodeSuperblock } from '../../../lib/pool/layout';
import type { PoolMetadataRange } from '../../../lib';

// Where the format keeps its checksums (docs/format.md). `sealer` checks them against a real pool
// first, so a format change fails loudly here instead of making the fuzzing quietly shallow.
const SB_CRC_AT = BLOCK - 4;
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
 * over corrupted metadata (journal records, the checkpoint's CRC in the superblocks, the superblocks'
 * own), so that corruption reaches the decoders and validation behind the checksums.
 */
export function sealer(base: Uint8Array, ranges: readonly PoolMetadataRange[]): (image: Uint8Array) => void {
  const sb0 = area(ranges, 'primary superblock');
  const sb1 = area(ranges, 'backup superblock');
  const journal = area(ranges, 'journal');
  const ckpt = ranges.filter((r) => r.area === 'checkpoint');
  if (ckpt.length === 0) throw new Error('no checkpoint in the metadata ranges');
  // The checkpoint's checksum covers its runs in order, as one image.
  const ckptCrc = (image: Uint8Array): number => {
    const all = new Uint8Array(ckpt.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of ckpt) {
      all.set(image.subarray(r.offset, r.offset + r.length), at);
      at += r.length;
    }
    return crc32c(all);
  };
  const sb = decodeSuperblock(base.subarray(sb0.offset, sb0.offset + BLOCK));
  if (typeof sb === 'string') throw new Error(`base superblock: ${sb}`);
  // Find the checkpoint CRC field by encoding a marker into it.
  const marked = encodeSuperblock({ ...sb, ckptCrc: 0xa1b2c3d4 });
  let ckptCrcAt = -1;
  for (let i = 0; i + 4 <= SB_CRC_AT; i++) if (u32(marked, i) === 0xa1b2c3d4) ckptCrcAt = i;
  if (ckptCrcAt < 0 || u32(base, sb0.offset + ckptCrcAt) !== ckptCrc(base)) {
    throw new Error('the checkpoint CRC is not where the sealer expects it');
  }
  if (u32(base, sb0.offset + SB_CRC_AT) !== crc32c(base, sb0.offset, sb0.offset + SB_CRC_AT)) throw new Error('the superblock CRC is not where the sealer expects it');
  for (const [at, end] of records(base, journal)) {
    if (u32(base, at + 4) !== crc32c(base, at + 8, end)) throw new Error('a journal record CRC is not where the sealer expects it');
  }
  return (image) => {
    for (const [at, end] of records(image, journal)) putU32(image, at + 4, crc32c(image, at + 8, end));
    const crc = ckptCrc(image);
    for (const s of [sb0, sb1]) {
      putU32(image, s.offset + ckptCrcAt, crc);
      putU32(image, s.offset + SB_CRC_AT, crc32c(image, s.offset, s.offset + SB_CRC_AT));
    }
  };
}
