import type { DaxDevice } from '../device/types';
import { Codec } from './codec';
import { crc32c } from './crc32c';
import { corrupt } from './errors';
import { ExtentState } from './extent-map';
import { BLOCK, CKPT_HEADER as HEADER, CKPT_INODE_FIXED as INODE_FIXED, NAME_MAX, NO_BLOCK, dataEnd, dataStart, type Superblock } from './layout';
import { readMeta } from './meta-io';
import { nameFromBytes } from './names';
import type { PoolState } from './state';

const MAGIC = 0x54504b43; // "CKPT"

/** Bytes the checkpoint of `s` takes. */
export function checkpointBytes(s: PoolState): number {
  let n = HEADER + s.alloc.bitmap.byteLength + s.alloc.shared.size * 8;
  for (const inode of s.inodes.values()) n += INODE_FIXED + (inode.name === null ? 0 : Buffer.byteLength(inode.name)) + inode.extents.length * 16;
  return n;
}

/**
 * The whole metadata image: header, every inode (attributes, name, extents), the shared-block
 * reference counts, and the block bitmap `bitmap`. Unlinked inodes still open are written as
 * orphans (no name), freed on the next open for writing.
 */
export function encodeCheckpoint(s: PoolState, epoch: number, bitmap: Uint32Array): Uint8Array {
  // The bitmap may be longer than the state's (a pool growing).
  const w = new Codec(new Uint8Array(Math.ceil((checkpointBytes(s) - s.alloc.bitmap.byteLength + bitmap.byteLength) / BLOCK) * BLOCK));
  w.pos = HEADER;
  const buf = Buffer.from(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength);
  for (const inode of s.inodes.values()) {
    const at = w.pos;
    w.pos += 8;
    w.putU64(inode.size);
    w.putU64(inode.mtimeMs);
    w.putU64(inode.ctimeMs);
    w.putU32(inode.extents.length);
    // The name goes straight into the image (no encoded copy per inode); its length goes in after.
    const nameLen = inode.name === null ? 0 : buf.write(inode.name, w.pos, 'utf8');
    w.pos += nameLen;
    w.view.setUint32(at, inode.ino, true);
    w.view.setUint16(at + 4, nameLen, true);
    inode.extents.forEach(0, Infinity, (page, count, block, state) => {
      w.putU32(page);
      w.putU32(count);
      w.putU32(block);
      w.putU32(state & ExtentState.UNWRITTEN);
    });
  }
  for (const [b, refs] of s.alloc.shared) {
    w.putU32(b);
    w.putU32(refs);
  }
  w.putRaw(new Uint8Array(bitmap.buffer, bitmap.byteOffset, bitmap.byteLength));
  const total = w.pos;
  w.pos = 0;
  w.putU32(MAGIC);
  w.putU32(1);
  w.putU64(epoch);
  w.putU32(s.inodes.size);
  w.putU32(s.alloc.shared.size);
  w.putU32(s.nextIno);
  w.putU32(bitmap.byteLength);
  w.putU64(total);
  return w.bytes.subarray(0, total);
}

/** The device byte ranges holding the first `length` bytes of an image stored in `runs` ([start, count] pairs), in order. */
export function runSpans(runs: readonly number[], length: number): { offset: number; length: number }[] {
  const spans: { offset: number; length: number }[] = [];
  let left = length;
  for (let i = 0; i < runs.length && left > 0; i += 2) {
    const n = Math.min(left, (runs[i + 1] as number) * BLOCK);
    spans.push({ offset: (runs[i] as number) * BLOCK, length: n });
    left -= n;
  }
  return spans;
}

/** Write `image` over the blocks of `runs`, in order; durable on return. */
export function writeRuns(device: DaxDevice, runs: readonly number[], image: Uint8Array): void {
  let at = 0;
  for (const span of runSpans(runs, image.length)) {
    device.copy(span.offset, image.subarray(at, at + span.length));
    at += span.length;
  }
}

function readRuns(device: DaxDevice, path: string, runs: readonly number[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const span of runSpans(runs, length)) {
    out.set(readMeta(device, path, span.offset, span.length, 'checkpoint'), at);
    at += span.length;
  }
  return out;
}

/** Does `[b, b+n)` share a block with the checkpoint's runs? A file's extent must not: writing it would overwrite the image. */
export function overlapsCheckpoint(sb: Superblock, b: number, n: number): boolean {
  for (let i = 0; i < sb.ckptRuns.length; i += 2) {
    const start = sb.ckptRuns[i] as number;
    if (b < start + (sb.ckptRuns[i + 1] as number) && start < b + n) return true;
  }
  return false;
}

/**
 * Load the checkpoint `sb` points at into the empty state `s`. What cannot be decoded, and extents
 * outside the data area or inside the checkpoint, are ERR_PMEMDAX_CORRUPT; a name held twice is
 * loaded as it is (the load-time audit reports it).
 */
export function loadCheckpoint(device: DaxDevice, s: PoolState, sb: Superblock): void {
  const offset = (sb.ckptRuns[0] as number) * BLOCK;
  const bytes = readRuns(device, s.path, sb.ckptRuns, sb.ckptBytes);
  const bad = (why: string, at = 0): Error => corrupt(s.path, 'checkpoint', offset + at, why);
  if (crc32c(bytes) !== sb.ckptCrc) throw bad('checksum mismatch');
  const r = new Codec(bytes);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (r.u32() !== MAGIC || r.u32() !== 1) throw bad('bad header');
    if (r.u64() !== sb.epoch) throw bad('epoch does not match the superblock');
    const inodes = r.u32();
    const shared = r.u32();
    s.nextIno = r.u32();
    const bitmapBytes = r.u32();
    if (r.u64() !== sb.ckptBytes) throw bad('length does not match the superblock');
    if (bitmapBytes !== s.alloc.bitmap.byteLength) throw bad('bitmap size does not match the pool');
    r.pos = HEADER;
    const lo = dataStart(sb);
    const hi = dataEnd(sb);
    for (let i = 0; i < inodes; i++) {
      const at = r.pos;
      const ino = r.u32();
      const nameLen = r.u16();
      r.u16();
      const size = r.u64();
      const mtime = r.u64();
      const ctime = r.u64();
      const extents = r.u32();
      if (ino === 0 || ino >= s.nextIno || s.inodes.has(ino)) throw bad(`inode ${ino} is duplicated or out of range`, at);
      if (nameLen > NAME_MAX) throw bad(`inode ${ino}: name of ${nameLen} bytes`, at);
      r.need(nameLen + extents * 16);
      let name: string | null = null;
      if (nameLen > 0) {
        name = nameFromBytes(buf, r.pos, nameLen);
        if (name === null) throw bad(`inode ${ino}: name is not UTF-8 without NUL`, at);
      }
      r.pos += nameLen;
      const inode = s.addInode(ino, name, ctime);
      inode.size = size;
      inode.mtimeMs = mtime;
      let prevEnd = 0;
      for (let e = 0; e < extents; e++) {
        const page = r.u32();
        const count = r.u32();
        const block = r.u32();
        const state = r.u32();
        if (count < 1 || page < prevEnd || page + count > NO_BLOCK) throw bad(`inode ${ino}: extent ${e} overlaps or is empty`, at);
        if (block < lo || block + count > hi) throw bad(`inode ${ino}: extent ${e} (blocks ${block}+${count}) is outside the data area`, at);
        if (overlapsCheckpoint(sb, block, count)) throw bad(`inode ${ino}: extent ${e} (blocks ${block}+${count}) is inside the checkpoint`, at);
        inode.extents.set(page, count, block, state & ExtentState.UNWRITTEN);
        prevEnd = page + count;
      }
    }
    for (let i = 0; i < shared; i++) {
      const b = r.u32();
      const refs = r.u32();
      if (b < lo || b >= hi || refs < 2 || overlapsCheckpoint(sb, b, 1)) throw bad(`refcount entry ${i} (block ${b}, ${refs})`);
      s.alloc.shared.set(b, refs);
    }
    r.need(bitmapBytes);
    s.alloc.bitmap.set(new Uint32Array(r.raw(bitmapBytes).slice().buffer));
  } catch (e) {
    if (e instanceof RangeError) throw bad(`truncated (${e.message})`);
    throw e;
  }
}
