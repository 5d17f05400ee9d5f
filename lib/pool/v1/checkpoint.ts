import type { DaxDevice } from '../../device/types';
import { Codec } from '../codec';
import { crc32c } from '../crc32c';
import { corrupt } from '../errors';
import { ExtentState } from '../extent-map';
import { BLOCK, NAME_MAX, NO_BLOCK, dataEnd, dataStart } from '../layout';
import { readMeta } from '../meta-io';
import { nameFromBytes } from '../names';
import type { PoolState } from '../state';
import type { V1Superblock } from './superblock';

// The checkpoint image of format version 1: a 64-byte header, every inode (attributes, name, extents), the
// shared blocks' reference counts, and the bitmap, stored in the runs the superblock lists.

const MAGIC = 0x54504b43; // "CKPT"
const HEADER = 64;

/** Does `[b, b+n)` share a block with the checkpoint's runs? */
export function overlapsV1Checkpoint(sb: V1Superblock, b: number, n: number): boolean {
  for (let i = 0; i < sb.ckptRuns.length; i += 2) {
    const start = sb.ckptRuns[i] as number;
    if (b < start + (sb.ckptRuns[i + 1] as number) && start < b + n) return true;
  }
  return false;
}

function readRuns(device: DaxDevice, path: string, runs: readonly number[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (let i = 0; i < runs.length && at < length; i += 2) {
    const n = Math.min(length - at, (runs[i + 1] as number) * BLOCK);
    out.set(readMeta(device, path, (runs[i] as number) * BLOCK, n, 'checkpoint'), at);
    at += n;
  }
  return out;
}

/**
 * Load the version-1 checkpoint `sb` points at into the empty state `s`. What cannot be decoded, and
 * extents outside the data area or inside the checkpoint, are ERR_PMEMDAX_CORRUPT; a name held twice is
 * loaded as it is (the audit reports it).
 */
export function loadV1Checkpoint(device: DaxDevice, s: PoolState, sb: V1Superblock): void {
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
        if (overlapsV1Checkpoint(sb, block, count)) throw bad(`inode ${ino}: extent ${e} (blocks ${block}+${count}) is inside the checkpoint`, at);
        inode.extents.set(page, count, block, state & ExtentState.UNWRITTEN);
        prevEnd = page + count;
      }
    }
    for (let i = 0; i < shared; i++) {
      const b = r.u32();
      const refs = r.u32();
      if (b < lo || b >= hi || refs < 2 || overlapsV1Checkpoint(sb, b, 1)) throw bad(`refcount entry ${i} (block ${b}, ${refs})`);
      s.alloc.shared.set(b, refs);
    }
    r.need(bitmapBytes);
    s.alloc.bitmap.set(new Uint32Array(r.raw(bitmapBytes).slice().buffer));
  } catch (e) {
    if (e instanceof RangeError) throw bad(`truncated (${e.message})`);
    throw e;
  }
}
