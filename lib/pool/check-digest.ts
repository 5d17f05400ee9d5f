import { corrupt } from './errors';
import { crc32c } from './crc32c';
import { NAME_MAX } from './layout';
import { inodeNameBytes } from './meta/records';
import { nameFromBytes } from './names';

/**
 * NameDigest -- a set of (name, inode) pairs summed into 64 bits, so that the names tree and the names the
 * inodes' records hold can be compared as sets without either side in memory. Each pair adds two unrelated
 * 32-bit hashes of it (CRC-32C, and FNV-1a, which is not linear as a CRC is), modulo 2^32. Both sides hold
 * each pair at most once (the trees' keys are unique), so equal counts and equal sums mean equal sets unless
 * both checksums of the pairs that differ cancel out: about one chance in 2^64 for damage that is not
 * crafted.
 */
export class NameDigest {
  count = 0;
  #a = 0;
  #b = 0;
  readonly #scratch = Buffer.alloc(4 + NAME_MAX);

  /** The pair an inode record `v` (accepted by decodeInode) holds, if it is named. */
  addInode(v: Buffer, ino: number): void {
    const name = inodeNameBytes(v);
    if (name.length > 0) this.#add(name, ino);
  }

  /** An entry of the names tree: `key` must be a name, or the tree is corrupt. */
  addName(key: Buffer, ino: number, path: string): void {
    if (key.length === 0 || key.length > NAME_MAX || nameFromBytes(key) === null) {
      throw corrupt(path, 'names tree', 0, `a name key of ${key.length} bytes, with a NUL, or not UTF-8`);
    }
    this.#add(key, ino);
  }

  equals(other: NameDigest): boolean {
    return this.count === other.count && this.#a === other.#a && this.#b === other.#b;
  }

  #add(name: Buffer, ino: number): void {
    const s = this.#scratch;
    s.writeUInt32LE(ino, 0);
    name.copy(s, 4);
    const end = 4 + name.length;
    this.#a = (this.#a + crc32c(s, 0, end)) >>> 0;
    let h = 0x811c9dc5;
    for (let i = 0; i < end; i++) h = Math.imul(h ^ (s[i] as number), 0x01000193);
    this.#b = (this.#b + (h >>> 0)) >>> 0;
    this.count++;
  }
}
