import { describe, expect, it } from 'vitest';
import { daxCopyAround } from '../../lib/dax/copy-around';
import { IomapType, PMD_SIZE } from '../../lib/iomap/constants';
import type { Iomap } from '../../lib/iomap/types';
import { MemoryDevice } from '../../lib/testing/memory-device';

const mapped = (dev: MemoryDevice, addr: number): Iomap => ({ addr, offset: 0, length: PMD_SIZE, type: IomapType.MAPPED, flags: 0, daxDev: dev });

describe('copy-around (docs/semantics.md §4.4)', () => {
  it('a fault’s whole 2 MiB CoW block is copied entirely, past the staging buffer size', () => {
    const dev = new MemoryDevice(4 * PMD_SIZE);
    const pattern = new Uint8Array(PMD_SIZE).map((_, i) => (i * 7 + (i >> 20)) & 0xff);
    dev.copy(0, pattern);
    expect(daxCopyAround(0, PMD_SIZE, PMD_SIZE, mapped(dev, 0), mapped(dev, 2 * PMD_SIZE), true)).toBe(0);
    const back = new Uint8Array(PMD_SIZE);
    dev.copySafe(2 * PMD_SIZE, back);
    expect(Buffer.compare(Buffer.from(back), Buffer.from(pattern))).toBe(0);
  });

  it('a write copies the head and the tail it does not cover (past the staging buffer size), and nothing of what it covers', () => {
    const dev = new MemoryDevice(4 * PMD_SIZE);
    const pattern = new Uint8Array(PMD_SIZE).map((_, i) => (i * 7 + (i >> 20)) & 0xff);
    dev.copy(0, pattern);
    dev.fill(2 * PMD_SIZE, 0xee, PMD_SIZE);
    const pos = 4096 + 100;
    const len = 8192;
    expect(daxCopyAround(pos, len, PMD_SIZE, mapped(dev, 0), mapped(dev, 2 * PMD_SIZE))).toBe(0);
    const back = new Uint8Array(PMD_SIZE);
    dev.copySafe(2 * PMD_SIZE, back);
    expect(Buffer.compare(Buffer.from(back.subarray(0, pos)), Buffer.from(pattern.subarray(0, pos)))).toBe(0);
    expect(back.subarray(pos, pos + len).every((b) => b === 0xee)).toBe(true);
    expect(Buffer.compare(Buffer.from(back.subarray(pos + len)), Buffer.from(pattern.subarray(pos + len)))).toBe(0);
  });

  it('a write of whole blocks copies nothing: it replaces them itself', () => {
    const dev = new MemoryDevice(4 * PMD_SIZE);
    dev.fill(0, 0x11, PMD_SIZE);
    dev.fill(2 * PMD_SIZE, 0xee, PMD_SIZE);
    expect(daxCopyAround(0, PMD_SIZE, PMD_SIZE, mapped(dev, 0), mapped(dev, 2 * PMD_SIZE))).toBe(0);
    const back = new Uint8Array(PMD_SIZE);
    dev.copySafe(2 * PMD_SIZE, back);
    expect(back.every((b) => b === 0xee)).toBe(true);
  });

  it('an unwritten source zeroes the destination block instead', () => {
    const dev = new MemoryDevice(4 * PMD_SIZE);
    dev.fill(2 * PMD_SIZE, 0xee, PMD_SIZE);
    const src = { ...mapped(dev, 0), type: IomapType.UNWRITTEN };
    expect(daxCopyAround(0, PMD_SIZE, PMD_SIZE, src, mapped(dev, 2 * PMD_SIZE), true)).toBe(0);
    const back = new Uint8Array(PMD_SIZE);
    dev.copySafe(2 * PMD_SIZE, back);
    expect(back.every((b) => b === 0)).toBe(true);
  });
});
