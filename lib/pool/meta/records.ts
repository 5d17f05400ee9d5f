/**
 * The keys and values of format 2's trees (docs/design.md, "Metadata at device scale"). Numbers in keys are
 * big-endian, so that byte order is numeric order; numbers in values are little-endian, as everywhere else
 * in the format. Decoders check what they read and throw ERR_PMEMDAX_CORRUPT naming the tree: a value is
 * read from a page whose CRC was right, which says the page is as written, not that it was written right.
 *
 *   names    key: the name, UTF-8                      value: ino u32
 *   inodes   key: ino u32                              value: size u64, mtime u64, ctime u64, extent count u32,
 *                                                             flags u16, name length u16, name, inline extents
 *   extents  key: ino u32, page u32                    value: count u32, block u32, state u32
 *   shared   key: block u32                            value: refs u32
 *
 * An inode whose extents fit (INLINE_EXTENTS) keeps them in its value (flag INLINE); the others keep them in
 * the extents tree, one entry per extent. An inode with no name is an orphan (unlinked while open).
 */
import { corrupt } from '../errors';
import { NAME_MAX } from '../layout';
import { nameFromBytes } from '../names';

/** One extent: `count` pages from file page `page` at block `block`; `state` bit 0 is unwritten. */
export interface ExtentRecord {
  readonly page: number;
  readonly count: number;
  readonly block: number;
  readonly state: number;
}

/** What the inodes tree keeps of a file. */
export interface InodeRecord {
  readonly ino: number;
  readonly name: string | null;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  /** How many extents the file has, inline or in the extents tree. */
  readonly extentCount: number;
  /** The extents, when they are inline; null when they are in the extents tree. */
  readonly extents: readonly ExtentRecord[] | null;
}

/** Inline extents at most: the value stays under a quarter of a page with the longest name. */
export const INLINE_EXTENTS = 32;
const INODE_FIXED = 32;
const EXTENT_BYTES = 16;
const FLAG_INLINE = 1;
const FLAGS_KNOWN = FLAG_INLINE;

export function inoKey(ino: number): Buffer {
  const k = Buffer.allocUnsafe(4);
  k.writeUInt32BE(ino, 0);
  return k;
}

export function extentKey(ino: number, page: number): Buffer {
  const k = Buffer.allocUnsafe(8);
  k.writeUInt32BE(ino, 0);
  k.writeUInt32BE(page, 4);
  return k;
}

export function blockKey(block: number): Buffer {
  return inoKey(block);
}

export function nameKey(name: string): Buffer {
  return Buffer.from(name, 'utf8');
}

export function decodeNameKey(key: Buffer, path: string): string {
  const name = key.length === 0 || key.length > NAME_MAX ? null : nameFromBytes(key);
  if (name === null) throw corrupt(path, 'names tree', 0, `a name key of ${key.length} bytes, with a NUL, or not UTF-8`);
  return name;
}

export function encodeU32(n: number): Buffer {
  const v = Buffer.allocUnsafe(4);
  v.writeUInt32LE(n, 0);
  return v;
}

export function decodeU32(value: Buffer, what: string, path: string): number {
  if (value.length !== 4) throw corrupt(path, what, 0, `a value of ${value.length} bytes, not 4`);
  return value.readUInt32LE(0);
}

export function encodeInode(r: InodeRecord): Buffer {
  const name = r.name === null ? null : Buffer.from(r.name, 'utf8');
  const inline = r.extents;
  const v = Buffer.alloc(INODE_FIXED + (name?.length ?? 0) + (inline?.length ?? 0) * EXTENT_BYTES);
  putU64(v, 0, r.size);
  putU64(v, 8, r.mtimeMs);
  putU64(v, 16, r.ctimeMs);
  v.writeUInt32LE(r.extentCount, 24);
  v.writeUInt16LE(inline === null ? 0 : FLAG_INLINE, 28);
  v.writeUInt16LE(name?.length ?? 0, 30);
  let at = INODE_FIXED;
  if (name !== null) at += name.copy(v, at);
  for (const e of inline ?? []) {
    v.writeUInt32LE(e.page, at);
    v.writeUInt32LE(e.count, at + 4);
    v.writeUInt32LE(e.block, at + 8);
    v.writeUInt32LE(e.state, at + 12);
    at += EXTENT_BYTES;
  }
  return v;
}

/** The name bytes of an inode record `v` that decodeInode accepted (empty for none). */
export function inodeNameBytes(v: Buffer): Buffer {
  return v.subarray(INODE_FIXED, INODE_FIXED + v.readUInt16LE(30));
}

export function decodeInode(ino: number, v: Buffer, path: string): InodeRecord {
  const bad = (why: string): never => {
    throw corrupt(path, `inode ${ino}`, 0, why);
  };
  if (v.length < INODE_FIXED) bad(`a value of ${v.length} bytes`);
  const size = getU64(v, 0);
  const mtimeMs = getU64(v, 8);
  const ctimeMs = getU64(v, 16);
  const extentCount = v.readUInt32LE(24);
  const flags = v.readUInt16LE(28);
  const nameLen = v.readUInt16LE(30);
  if ((flags & ~FLAGS_KNOWN) !== 0) bad(`unknown flags ${flags}`);
  if (nameLen > NAME_MAX) bad(`a name of ${nameLen} bytes`);
  const inline = (flags & FLAG_INLINE) !== 0;
  const expected = INODE_FIXED + nameLen + (inline ? extentCount * EXTENT_BYTES : 0);
  if (inline && extentCount > INLINE_EXTENTS) bad(`${extentCount} inline extents`);
  if (v.length !== expected) bad(`a value of ${v.length} bytes, not ${expected}`);
  let name: string | null = null;
  if (nameLen > 0) {
    name = nameFromBytes(v, INODE_FIXED, nameLen);
    if (name === null) bad('a name with a NUL, or not UTF-8');
  }
  let extents: ExtentRecord[] | null = null;
  if (inline) {
    extents = [];
    for (let at = INODE_FIXED + nameLen; at < v.length; at += EXTENT_BYTES) {
      extents.push({ page: v.readUInt32LE(at), count: v.readUInt32LE(at + 4), block: v.readUInt32LE(at + 8), state: v.readUInt32LE(at + 12) });
    }
  }
  return { ino, name, size, mtimeMs, ctimeMs, extentCount, extents };
}

export function encodeExtent(e: ExtentRecord): Buffer {
  const v = Buffer.allocUnsafe(12);
  v.writeUInt32LE(e.count, 0);
  v.writeUInt32LE(e.block, 4);
  v.writeUInt32LE(e.state, 8);
  return v;
}

export function decodeExtent(key: Buffer, v: Buffer, path: string): { readonly ino: number } & ExtentRecord {
  if (key.length !== 8 || v.length !== 12) throw corrupt(path, 'extents tree', 0, `a ${key.length}-byte key with a ${v.length}-byte value`);
  return { ino: key.readUInt32BE(0), page: key.readUInt32BE(4), count: v.readUInt32LE(0), block: v.readUInt32LE(4), state: v.readUInt32LE(8) };
}

/** A u64 below 2^53 as two u32 halves, low first (format.md, "Conventions"). */
function putU64(v: Buffer, at: number, n: number): void {
  v.writeUInt32LE(n % 2 ** 32, at);
  v.writeUInt32LE(Math.floor(n / 2 ** 32), at + 4);
}

function getU64(v: Buffer, at: number): number {
  const hi = v.readUInt32LE(at + 4);
  // Above 2^53 - 1 the value is not an integer JavaScript can hold: report it as the largest, which every check refuses.
  return hi > 0x1fffff ? Number.MAX_SAFE_INTEGER + 1 : hi * 2 ** 32 + v.readUInt32LE(at);
}
