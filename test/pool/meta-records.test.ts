import { describe, expect, it } from 'vitest';
import {
  INLINE_EXTENTS, blockKey, decodeExtent, decodeInode, decodeNameKey, decodeU32, encodeExtent, encodeInode, encodeU32, extentKey,
  inoKey, nameKey, type InodeRecord,
} from '../../lib/pool/meta/records';
import { VALUE_MAX } from '../../lib/pool/meta/page';

const CORRUPT = { code: 'ERR_PMEMDAX_CORRUPT' };

describe("format 2's tree records (lib/pool/meta/records)", () => {
  const extents = (n: number) => Array.from({ length: n }, (_, i) => ({ page: i * 10, count: 1 + i, block: 0xfffffff0 - i, state: i & 1 }));
  const cases: InodeRecord[] = [
    { ino: 1, name: 'a', size: 0, mtimeMs: 0, ctimeMs: 0, extentCount: 0, extents: [] },
    { ino: 0xfffffffe, name: null, size: 2 ** 53 - 1, mtimeMs: 1.7e12, ctimeMs: 2 ** 40 + 3, extentCount: 5000, extents: null },
    { ino: 7, name: 'é'.repeat(127), size: 4096 * 2 ** 32 - 4096, mtimeMs: 1, ctimeMs: 2, extentCount: INLINE_EXTENTS, extents: extents(INLINE_EXTENTS) },
    { ino: 8, name: '😀 x'.repeat(36), size: 123, mtimeMs: 5, ctimeMs: 6, extentCount: 3, extents: extents(3) },
  ];

  it.each(cases.map((c) => [c.ino, c] as const))('an inode (%i) goes round, and its value fits a cell', (_, r) => {
    const v = encodeInode(r);
    expect(v.length).toBeLessThanOrEqual(VALUE_MAX);
    expect(decodeInode(r.ino, v, 'pool')).toEqual(r);
  });

  it('keys sort as their numbers: inode numbers, blocks, (inode, page) pairs, and names in code-point order', () => {
    const nums = [0, 1, 255, 256, 65535, 65536, 2 ** 24, 2 ** 31, 0xfffffffe];
    const shuffled = [...nums].reverse();
    expect(shuffled.map(inoKey).sort(Buffer.compare).map((k) => k.readUInt32BE(0))).toEqual(nums);
    expect(shuffled.map(blockKey).sort(Buffer.compare).map((k) => k.readUInt32BE(0))).toEqual(nums);
    const pairs = [[2, 0], [1, 0xffffffff], [1, 5], [2, 256]] as const;
    expect(pairs.map(([i, p]) => extentKey(i, p)).sort(Buffer.compare).map((k) => [k.readUInt32BE(0), k.readUInt32BE(4)])).toEqual([[1, 5], [1, 0xffffffff], [2, 0], [2, 256]]);
    // UTF-8 byte order is code-point order: a supplementary character sorts after U+FFFD, unlike UTF-16 units.
    const names = ['b', 'a', '\uFFFD', '😀', 'ab', 'é'];
    expect(names.map(nameKey).sort(Buffer.compare).map((k) => decodeNameKey(k, 'pool'))).toEqual(['a', 'ab', 'b', 'é', '\uFFFD', '😀']);
  });

  it('extents and u32 values go round', () => {
    const e = { page: 0xffffffff, count: 7, block: 12345, state: 1 };
    expect(decodeExtent(extentKey(9, e.page), encodeExtent(e), 'pool')).toEqual({ ino: 9, ...e });
    expect(decodeU32(encodeU32(0xfffffffe), 'names tree', 'pool')).toBe(0xfffffffe);
  });

  it('a value that is not what was written is ERR_PMEMDAX_CORRUPT naming the inode or the tree', () => {
    const good = encodeInode(cases[3] as InodeRecord);
    const with16 = (at: number, n: number): Buffer => {
      const v = Buffer.from(good);
      v.writeUInt16LE(n, at);
      return v;
    };
    const badName = Buffer.from(good);
    badName[32] = 0xff;
    const nulName = Buffer.from(good);
    nulName[33] = 0;
    const tooManyInline = Buffer.from(good);
    tooManyInline.writeUInt32LE(INLINE_EXTENTS + 1, 24);
    for (const [why, v] of [
      ['truncated', good.subarray(0, 31)],
      ['one byte short', good.subarray(0, good.length - 1)],
      ['one byte long', Buffer.concat([good, Buffer.alloc(1)])],
      ['unknown flags', with16(28, 3)],
      ['name longer than NAME_MAX', with16(30, 256)],
      ['name not UTF-8', badName],
      ['name with a NUL', nulName],
      ['inline count over the limit', tooManyInline],
    ] as const) {
      expect(() => decodeInode(8, v, 'pool'), why).toThrow(expect.objectContaining({ ...CORRUPT, message: expect.stringContaining('inode 8') }));
    }
    expect(() => decodeExtent(Buffer.alloc(4), Buffer.alloc(12), 'pool')).toThrow(expect.objectContaining(CORRUPT));
    expect(() => decodeExtent(Buffer.alloc(8), Buffer.alloc(11), 'pool')).toThrow(expect.objectContaining(CORRUPT));
    expect(() => decodeU32(Buffer.alloc(3), 'names tree', 'pool')).toThrow(expect.objectContaining({ ...CORRUPT, message: expect.stringContaining('names tree') }));
    for (const key of [Buffer.alloc(0), Buffer.alloc(256, 0x61), Buffer.from('a\0b'), Buffer.from([0xc3])]) {
      expect(() => decodeNameKey(key, 'pool')).toThrow(expect.objectContaining(CORRUPT));
    }
  });

  it('a u64 field past 2^53 - 1 decodes to a number every size check refuses', () => {
    const v = encodeInode(cases[0] as InodeRecord);
    v.writeUInt32LE(0xffffffff, 4);
    expect(decodeInode(1, v, 'pool').size).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
  });
});
