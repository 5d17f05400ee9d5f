import { Codec } from '../codec';
import { crc32c } from '../crc32c';
import { BLOCK, IDENTITY_MAX, SB_MAGIC, VersionMismatch } from '../layout';

/** The superblock of format version 1 (docs/format.md of pmemdax before format 2): the checkpoint is one image in runs of blocks. */
export const V1_FORMAT_VERSION = 1;
/** The checkpoint's runs are listed from this superblock offset, at most RUNS_MAX of them. */
const RUNS_AT = 512;
const RUNS_MAX = 440;
const SB_CRC_AT = BLOCK - 4;

export interface V1Superblock {
  uuid: Uint8Array;
  blocks: number;
  journalStart: number;
  journalBlocks: number;
  seq: number;
  epoch: number;
  /** The checkpoint image's blocks: [start, count] pairs, in image order. */
  ckptRuns: number[];
  ckptBytes: number;
  ckptCrc: number;
  dirty: boolean;
  shutdownCount: number;
  identity: string;
}

export function v1DataStart(sb: V1Superblock): number {
  return sb.journalStart + sb.journalBlocks;
}

export function v1DataEnd(sb: V1Superblock): number {
  return sb.blocks - 1;
}

export function v1CheckpointBlocks(sb: V1Superblock): number {
  let n = 0;
  for (let i = 1; i < sb.ckptRuns.length; i += 2) n += sb.ckptRuns[i] as number;
  return n;
}

/** A version-1 superblock in `bytes`, the version it has if it is a pool of another version, or the reason it is not one. */
export function decodeV1Superblock(bytes: Uint8Array): V1Superblock | VersionMismatch | string {
  const c = new Codec(bytes);
  if (new TextDecoder().decode(c.raw(8)) !== SB_MAGIC) return 'no pool signature';
  if (c.view.getUint32(SB_CRC_AT, true) !== crc32c(bytes, 0, SB_CRC_AT)) return 'checksum mismatch';
  const version = c.u32();
  if (version !== V1_FORMAT_VERSION) return new VersionMismatch(version);
  if (c.u32() !== BLOCK) return `block size is not ${BLOCK}`;
  const uuid = c.raw(16).slice();
  const blocks = c.u32();
  const journalStart = c.u32();
  const journalBlocks = c.u32();
  const seq = c.u32();
  const epoch = c.u64();
  const runs = c.u32();
  const total = c.u32();
  const sb: V1Superblock = {
    uuid,
    blocks,
    journalStart,
    journalBlocks,
    seq,
    epoch,
    ckptRuns: [],
    ckptBytes: c.u64(),
    ckptCrc: c.u32(),
    dirty: c.u32() !== 0,
    shutdownCount: c.u64() - 1,
    identity: '',
  };
  const idLen = c.u16();
  if (idLen > IDENTITY_MAX) return 'identity too long';
  sb.identity = new TextDecoder().decode(c.raw(idLen));
  if (runs < 1 || runs > RUNS_MAX) return `${runs} checkpoint runs`;
  c.pos = RUNS_AT;
  for (let i = 0; i < 2 * runs; i++) sb.ckptRuns.push(c.u32());
  if (v1CheckpointBlocks(sb) !== total) return 'checkpoint block count does not match its runs';
  return checkGeometry(sb) ?? sb;
}

function checkGeometry(sb: V1Superblock): string | null {
  if (sb.blocks < 8) return `${sb.blocks} blocks is too small`;
  if (sb.journalStart !== 1 || sb.journalBlocks < 1 || v1DataStart(sb) >= v1DataEnd(sb)) return 'journal outside the pool';
  for (let i = 0; i < sb.ckptRuns.length; i += 2) {
    const start = sb.ckptRuns[i] as number;
    const n = sb.ckptRuns[i + 1] as number;
    if (start < v1DataStart(sb) || n < 1 || start + n > v1DataEnd(sb)) return 'checkpoint outside the data area';
  }
  if (sb.ckptBytes < 64 || sb.ckptBytes > v1CheckpointBlocks(sb) * BLOCK) return 'checkpoint length does not fit its blocks';
  return null;
}
