import { describe, expect, it } from 'vitest';
import { daxCopyAround } from '../../lib/dax/copy-around';
import { IomapType, PMD_SIZE } from '../../lib/iomap/constants';
import type { Iomap } from '../../lib/iomap/types';
import { MemoryDevice } from '../../lib/testing/memory-device';

const mapped = (dev: MemoryDevice, addr: number): Iomap => ({ addr, offset: 0, length: PMD_SIZE, type: IomapType.MAPPED, flags: 0, daxDev: dev });

describe('copy-around (docs/semantics.md §4.4)', () => {
  it('a whole 2 MiB CoW block is copied entirely, past the staging buffer size', () => {
    const dev = new MemoryDevice(4 * PMD_SIZE);
    const pattern = new Uint8Array(PMD_SIZE).map((_, i) => (i * 7 + (i >> 20)) & 0xff);
    dev.copy(0, pattern);
    expect(daxCopyAround(0, PMD_SIZE, PMD_SIZE, mapped(dev, 0), mapped(dev, 2 * PMD_SIZE))).toBe(0);
    const back = new Uint8Array(PMD_SIZE);
    dev.copySafe(2 * PMD_SIZE, back);
    expect(Buffer.compare(Buffer.from(back), Buffer.from(pattern))).toBe(0);
  });

  it('an unwritten source zeroes the destination block instead', () => {
    const dev = new MemoryDevice(4 * PMD_SIZE);
    dev.fill(2 * PMD_SIZE, 0xee, PMD_SIZE);
    const src = { ...mapped(dev, 0), type: IomapType.UNWRITTEN };
    expect(daxCopyAround(0, PMD_SIZE, PMD_SIZE, src, mapped(dev, 2 * PMD_SIZE))).toBe(0);
    const back = new Uint8Array(PMD_SIZE);
    dev.copySafe(2 * PMD_SIZE, back);
    expect(back.every((b) => b === 0)).toBe(true);
  });
});
