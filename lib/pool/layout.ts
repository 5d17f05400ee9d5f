import { Codec } from './codec';
import { crc32c } from './crc32c';
import { PAGE_SIZE } from '../units';

/** Format constants. Any change that old code could misread bumps FORMAT_VERSION. */
export const FORMAT_VERSION = 1;
/** A pool block is one page, so that every block can be mapped through DAX. */
export const BLOCK = PAGE_SIZE;
export const SB_MAGIC = 'PMEMDAXP';
/** Names are UTF-8, 1..255 bytes, any byte but NUL (a `/` is an ordinary character). */
export const NAME_MAX = 255;
/** Block numbers are 32-bit; this one means "no block" (a hole). */
export const NO_BLOCK = 0xffffffff;
/** The most blocks a pool has: every block number below NO_BLOCK. */
export const BLOCKS_MAX = 0xfffffffe;
/** Files address at most 2^32 - 1 pages. */
export const FILE_SIZE_MAX = (2 ** 32 - 1) * BLOCK;
export const IDENTITY_MAX = 128;
/** The checkpoint's runs are listed from this superblock offset, at most CKPT_RUNS_MAX of them. */
const RUNS_AT = 512;
export const CKPT_RUNS_MAX = 440;
/**
 * Checkpoint bytes of its header and of an inode record before its name and extents: here, not in
 * checkpoint.ts, as the state keeps a running count of its checkpoint's size with them.
 */
export const CKPT_HEADER = 64;
export const CKPT_INODE_FIXED = 36;
const SB_CRC_AT = BLOCK - 4;

/** Where everything is: the fixed areas, and the checkpoint the journal continues from. */
export interface Superblock {
  uuid: Uint8Array;
  /** Blocks in the pool; the backup superblock is the last one. */
  blocks: number;
  journalStart: number;
  journalBlocks: number;
  /** Bumped on every superblock write; the higher valid copy wins. */
  seq: number;
  /** Checkpoint generation; journal records of another epoch are stale. */
  epoch: number;
  /** The checkpoint's blocks: [start, count] pairs, in image order. */
  ckptRuns: number[];
  ckptBytes: number;
  ckptCrc: number;
  /** Set while a writer has the pool open; clear after a clean close. */
  dirty: boolean;
  /** Dirty-shutdown count of the platform at the last open for writing; -1 when not exposed. */
  shutdownCount: number;
  identity: string;
}

export function dataStart(sb: Superblock): number {
  return sb.journalStart + sb.journalBlocks;
}

/** The last data block + 1 (the backup superblock follows). */
export function dataEnd(sb: Superblock): number {
  return sb.blocks - 1;
}

export function encodeSuperblock(sb: Superblock): Uint8Array {
  const out = new Uint8Array(BLOCK);
  const c = new Codec(out);
  c.putRaw(new TextEncoder().encode(SB_MAGIC));
  c.putU32(FORMAT_VERSION);
  c.putU32(BLOCK);
  c.putRaw(sb.uuid);
  c.putU32(sb.blocks);
  c.putU32(sb.journalStart);
  c.putU32(sb.journalBlocks);
  c.putU32(sb.seq);
  c.putU64(sb.epoch);
  c.putU32(sb.ckptRuns.length / 2);
  c.putU32(ckptBlocks(sb));
  c.putU64(sb.ckptBytes);
  c.putU32(sb.ckptCrc);
  c.putU32(sb.dirty ? 1 : 0);
  c.putU64(sb.shutdownCount + 1);
  const id = new TextEncoder().encode(sb.identity).subarray(0, IDENTITY_MAX);
  c.putU16(id.length);
  c.putRaw(id);
  c.pos = RUNS_AT;
  for (const v of sb.ckptRuns) c.putU32(v);
  c.view.setUint32(SB_CRC_AT, crc32c(out, 0, SB_CRC_AT), true);
  return out;
}

/** The superblock in `bytes`, or the reason it is not one. */
export function decodeSuperblock(bytes: Uint8Array): Superblock | string {
  const c = new Codec(bytes);
  if (new TextDecoder().decode(c.raw(8)) !== SB_MAGIC) return 'no pool signature';
  if (c.view.getUint32(SB_CRC_AT, true) !== crc32c(bytes, 0, SB_CRC_AT)) return 'checksum mismatch';
  const version = c.u32();
  if (version !== FORMAT_VERSION) return `format version ${version} (this library reads ${FORMAT_VERSION})`;
  if (c.u32() !== BLOCK) return `block size is not ${BLOCK}`;
  const uuid = c.raw(16).slice();
  const blocks = c.u32();
  const journalStart = c.u32();
  const journalBlocks = c.u32();
  const seq = c.u32();
  const epoch = c.u64();
  const runs = c.u32();
  const total = c.u32();
  const sb: Superblock = {
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
  if (runs < 1 || runs > CKPT_RUNS_MAX) return `${runs} checkpoint runs`;
  c.pos = RUNS_AT;
  for (let i = 0; i < 2 * runs; i++) sb.ckptRuns.push(c.u32());
  if (ckptBlocks(sb) !== total) return 'checkpoint block count does not match its runs';
  return checkGeometry(sb) ?? sb;
}

function checkGeometry(sb: Superblock): string | null {
  if (sb.blocks < 8) return `${sb.blocks} blocks is too small`;
  if (sb.journalStart !== 1 || sb.journalBlocks < 1 || dataStart(sb) >= dataEnd(sb)) return 'journal outside the pool';
  for (let i = 0; i < sb.ckptRuns.length; i += 2) {
    const start = sb.ckptRuns[i] as number;
    const n = sb.ckptRuns[i + 1] as number;
    if (start < dataStart(sb) || n < 1 || start + n > dataEnd(sb)) return 'checkpoint outside the data area';
  }
  if (sb.ckptBytes < 64 || sb.ckptBytes > ckptBlocks(sb) * BLOCK) return 'checkpoint length does not fit its blocks';
  return null;
}

export function ckptBlocks(sb: Superblock): number {
  let n = 0;
  for (let i = 1; i < sb.ckptRuns.length; i += 2) n += sb.ckptRuns[i] as number;
  return n;
}

export function inCheckpoint(sb: Superblock, b: number): boolean {
  for (let i = 0; i < sb.ckptRuns.length; i += 2) {
    const start = sb.ckptRuns[i] as number;
    if (b >= start && b < start + (sb.ckptRuns[i + 1] as number)) return true;
  }
  return false;
}

/** Default journal: 1/64 of the pool, 64 KiB to 64 MiB, whole blocks. */
export function defaultJournalBlocks(blocks: number): number {
  return Math.min(16384, Math.max(16, Math.floor(blocks / 64)));
}

export function uuidString(uuid: Uint8Array): string {
  const h = Array.from(uuid, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
