import { Codec } from './codec';
import { crc32c } from './crc32c';
import { PAGE_SIZE } from '../units';

/** Format constants. Any change that old code could misread bumps FORMAT_VERSION. */
export const FORMAT_VERSION = 2;
/** A pool block is one page, so that every block can be mapped through DAX. */
export const BLOCK = PAGE_SIZE;
export const SB_MAGIC = 'PMEMDAXP';
/** Names are UTF-8, 1..255 bytes, any byte but NUL (a `/` is an ordinary character). */
export const NAME_MAX = 255;
/** Block numbers are 32-bit; this one means "no block" (a hole, or the root of an empty tree). */
export const NO_BLOCK = 0xffffffff;
/** The most blocks a pool has: every block number below NO_BLOCK. */
export const BLOCKS_MAX = 0xfffffffe;
/** Files address at most 2^32 - 1 pages. */
export const FILE_SIZE_MAX = (2 ** 32 - 1) * BLOCK;
export const IDENTITY_MAX = 128;
const SB_CRC_AT = BLOCK - 4;
/** Where the fields a lazy open needs start: past the identity's room, so every earlier field keeps its place. */
const SB_OPEN_AT = 512;
/** Made once: a decoder costs tens of microseconds to make, and a reader's refresh reads the superblock. */
const TEXT_DECODER = new TextDecoder();
const TEXT_ENCODER = new TextEncoder();
/** Where the epoch lies in a superblock of every format version. */
export const SB_EPOCH_AT = 48;

/** The root page of each metadata tree (NO_BLOCK: empty). */
export interface TreeRoots {
  names: number;
  inodes: number;
  extents: number;
  shared: number;
}

export const TREE_NAMES: readonly (keyof TreeRoots)[] = ['names', 'inodes', 'extents', 'shared'];

/** What a superblock of every format version begins with, after its signature, version and block size. */
export interface SuperblockHeader {
  uuid: Uint8Array;
  /** Blocks in the pool; the backup superblock is the last one. */
  blocks: number;
  journalStart: number;
  journalBlocks: number;
  /** Bumped on every superblock write; the higher valid copy wins. */
  seq: number;
  /** Checkpoint generation; journal records of another epoch are stale. */
  epoch: number;
}

/** The unsafe-shutdown fields, stored alike (and last) by every format version. */
export interface ShutdownFields {
  /** Set while a writer has the pool open; clear after a clean close. */
  dirty: boolean;
  /** Dirty-shutdown count of the platform at the last open for writing; -1 when not exposed. */
  shutdownCount: number;
  identity: string;
}

/** Where everything is: the fixed areas, and the checkpoint (trees and bitmap) the journal continues from. */
export interface Superblock extends SuperblockHeader, ShutdownFields {
  /** First block of each bitmap copy; the checkpoint's bitmap is copy `epoch & 1`. */
  bitmapAt: [number, number];
  /** Blocks of one bitmap copy: its bit pages, then the CRC-32C of each of them. */
  bitmapBlocks: number;
  roots: TreeRoots;
  /** Pages the four trees reach, together. */
  treePages: number;
  inodeCount: number;
  sharedCount: number;
  nextIno: number;
  /**
   * Tree cell bytes of the checkpoint's inodes (the reserve rule's count, an upper bound), or -1 when not
   * recorded (a pool last checkpointed by an older release): the open then loads every inode to count them.
   */
  metaBytes: number;
  /** Inodes of the checkpoint without a name (open when it was written); any makes the open load every inode. */
  orphans: number;
  /**
   * Data blocks the checkpoint's bitmap keeps used although no file maps them: frees readers' snapshots could
   * still reach when it was written (docs/design.md, "Live readers"). Any makes a writer's open load every
   * inode, to find them and free them once no reader needs them. 0 in pools written by older releases.
   */
  deferredBlocks: number;
}

/** A wrong format version on a superblock whose signature and checksum are right. */
export class VersionMismatch {
  constructor(readonly version: number) {}
}

export function dataStart(sb: SuperblockHeader): number {
  return sb.journalStart + sb.journalBlocks;
}

/** The last data block + 1 (the backup superblock follows). */
export function dataEnd(sb: SuperblockHeader): number {
  return sb.blocks - 1;
}

/** Bit pages of a bitmap over `blocks` blocks. */
export function bitmapPages(blocks: number): number {
  return Math.ceil(Math.ceil(blocks / 32) * 4 / BLOCK);
}

/** Blocks of one bitmap copy over `blocks` blocks: the bit pages and their CRCs (4 bytes each). */
export function bitmapCopyBlocks(blocks: number): number {
  const pages = bitmapPages(blocks);
  return pages + Math.ceil((pages * 4) / BLOCK);
}

export function encodeSuperblock(sb: Superblock): Uint8Array {
  const out = new Uint8Array(BLOCK);
  const c = new Codec(out);
  c.putRaw(TEXT_ENCODER.encode(SB_MAGIC));
  c.putU32(FORMAT_VERSION);
  c.putU32(BLOCK);
  c.putRaw(sb.uuid);
  c.putU32(sb.blocks);
  c.putU32(sb.journalStart);
  c.putU32(sb.journalBlocks);
  c.putU32(sb.seq);
  c.putU64(sb.epoch);
  c.putU32(sb.bitmapAt[0]);
  c.putU32(sb.bitmapAt[1]);
  c.putU32(sb.bitmapBlocks);
  for (const t of TREE_NAMES) c.putU32(sb.roots[t]);
  c.putU32(sb.treePages);
  c.putU32(sb.inodeCount);
  c.putU32(sb.sharedCount);
  c.putU32(sb.nextIno);
  c.putU32(sb.dirty ? 1 : 0);
  c.putU64(sb.shutdownCount + 1);
  const id = TEXT_ENCODER.encode(sb.identity).subarray(0, IDENTITY_MAX);
  c.putU16(id.length);
  c.putRaw(id);
  c.pos = SB_OPEN_AT;
  c.putU64(sb.metaBytes + 1);
  c.putU32(sb.orphans);
  c.putU32(sb.deferredBlocks);
  c.view.setUint32(SB_CRC_AT, crc32c(out, 0, SB_CRC_AT), true);
  return out;
}

/** Is a decoded copy a superblock this library reads? */
export function isSuperblock(x: Superblock | VersionMismatch | string): x is Superblock {
  return typeof x === 'object' && !(x instanceof VersionMismatch);
}

/** The superblock in `bytes`, the version it has if it is a pool of another format version, or the reason it is not one. */
export function decodeSuperblock(bytes: Uint8Array): Superblock | VersionMismatch | string {
  const c = new Codec(bytes);
  const header = decodeSuperblockHeader(c, FORMAT_VERSION);
  if (typeof header === 'string' || header instanceof VersionMismatch) return header;
  const bitmapAt: [number, number] = [c.u32(), c.u32()];
  const bitmapBlocks = c.u32();
  const roots = { names: c.u32(), inodes: c.u32(), extents: c.u32(), shared: c.u32() };
  const treePages = c.u32();
  const inodeCount = c.u32();
  const sharedCount = c.u32();
  const nextIno = c.u32();
  const shutdown = decodeShutdownFields(c);
  if (typeof shutdown === 'string') return shutdown;
  c.pos = SB_OPEN_AT;
  const metaBytes = c.u64() - 1;
  const orphans = c.u32();
  const deferredBlocks = c.u32();
  const sb: Superblock = { ...header, bitmapAt, bitmapBlocks, roots, treePages, inodeCount, sharedCount, nextIno, metaBytes, orphans, deferredBlocks, ...shutdown };
  return checkGeometry(sb) ?? sb;
}

/**
 * The start of a superblock of format version `version`, read by `c` from its offset 0 up to the epoch's
 * end; the version found if it is another, or the reason the bytes are not a pool's superblock.
 */
export function decodeSuperblockHeader(c: Codec, version: number): SuperblockHeader | VersionMismatch | string {
  if (TEXT_DECODER.decode(c.raw(8)) !== SB_MAGIC) return 'no pool signature';
  if (c.view.getUint32(SB_CRC_AT, true) !== crc32c(c.bytes, 0, SB_CRC_AT)) return 'checksum mismatch';
  const found = c.u32();
  if (found !== version) return new VersionMismatch(found);
  if (c.u32() !== BLOCK) return `block size is not ${BLOCK}`;
  return { uuid: c.raw(16).slice(), blocks: c.u32(), journalStart: c.u32(), journalBlocks: c.u32(), seq: c.u32(), epoch: c.u64() };
}

/** The unsafe-shutdown fields at `c` (dirty flag u32, count + 1 u64, identity length u16 and bytes), or why they are wrong. */
export function decodeShutdownFields(c: Codec): ShutdownFields | string {
  const dirty = c.u32() !== 0;
  const shutdownCount = c.u64() - 1;
  const idLen = c.u16();
  if (idLen > IDENTITY_MAX) return 'identity too long';
  return { dirty, shutdownCount, identity: TEXT_DECODER.decode(c.raw(idLen)) };
}

/** The geometry every format version checks alike: enough blocks, the journal inside the pool. */
export function checkHeaderGeometry(h: SuperblockHeader): string | null {
  if (h.blocks < 8) return `${h.blocks} blocks is too small`;
  if (h.journalStart !== 1 || h.journalBlocks < 1 || dataStart(h) >= dataEnd(h)) return 'journal outside the pool';
  return null;
}

function checkGeometry(sb: Superblock): string | null {
  const common = checkHeaderGeometry(sb);
  if (common !== null) return common;
  if (sb.bitmapBlocks !== bitmapCopyBlocks(sb.blocks)) return `bitmap copies of ${sb.bitmapBlocks} blocks for ${sb.blocks} blocks`;
  const [a, b] = sb.bitmapAt;
  for (const at of sb.bitmapAt) if (at < dataStart(sb) || at + sb.bitmapBlocks > dataEnd(sb)) return 'a bitmap copy outside the data area';
  if (a < b + sb.bitmapBlocks && b < a + sb.bitmapBlocks) return 'the bitmap copies overlap';
  for (const t of TREE_NAMES) {
    const root = sb.roots[t];
    if (root !== NO_BLOCK && (root < dataStart(sb) || root >= dataEnd(sb))) return `the ${t} tree's root outside the data area`;
  }
  if (sb.nextIno < 1) return 'next inode number 0';
  if (sb.orphans > sb.inodeCount) return `${sb.orphans} nameless inodes of ${sb.inodeCount}`;
  if (sb.deferredBlocks > dataEnd(sb) - dataStart(sb)) return `${sb.deferredBlocks} deferred blocks in a data area of ${dataEnd(sb) - dataStart(sb)}`;
  if (sb.metaBytes > sb.blocks * BLOCK) return `metadata of ${sb.metaBytes} bytes in a pool of ${sb.blocks * BLOCK}`;
  return null;
}

/** Is `b` in either bitmap copy? */
export function inBitmapCopies(sb: Superblock, b: number): boolean {
  return sb.bitmapAt.some((at) => b >= at && b < at + sb.bitmapBlocks);
}

/** Does `[b, b+n)` share a block with a bitmap copy? */
export function overlapsBitmapCopies(sb: Superblock, b: number, n: number): boolean {
  return sb.bitmapAt.some((at) => b < at + sb.bitmapBlocks && at < b + n);
}

/** Default journal: 1/64 of the pool, 64 KiB to 64 MiB, whole blocks. */
export function defaultJournalBlocks(blocks: number): number {
  return Math.min(16384, Math.max(16, Math.floor(blocks / 64)));
}

export function uuidString(uuid: Uint8Array): string {
  const h = Array.from(uuid, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
