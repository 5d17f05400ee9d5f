import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { BLOCK, defaultJournalBlocks } from '../../lib/pool/layout';
import { MemoryDevice } from '../../lib/testing';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// The default documented in docs/format.md (Limits) and api.md: 1/64 of the pool in whole blocks, 64 KiB..64 MiB.
const CREATED: readonly [pool: number, journal: number][] = [
  [256 * KiB, 64 * KiB],
  [1 * MiB, 64 * KiB],
  [2 * MiB, 64 * KiB],
  [3 * MiB, 64 * KiB],
  [4 * MiB, 64 * KiB],
  [5 * MiB, 80 * KiB],
  [6 * MiB, 96 * KiB],
  [7 * MiB, 112 * KiB],
  [8 * MiB, 128 * KiB],
  [16 * MiB, 256 * KiB],
  [64 * MiB, 1 * MiB],
];

describe('the default journal size', () => {
  it.each(CREATED)('a pool of %i bytes gets a journal of %i bytes', (size, journal) => {
    const pool = Pool.createOn(new MemoryDevice(size));
    expect(pool.info.journalBytes).toBe(journal);
    pool.closeSync();
  });

  it.each([
    [4 * GiB - 64 * MiB, 63 * MiB],
    [4 * GiB, 64 * MiB],
    [16 * GiB, 64 * MiB],
  ])('a pool of %i bytes would get %i bytes (the upper clamp)', (size, journal) => {
    expect(defaultJournalBlocks(size / BLOCK) * BLOCK).toBe(journal);
  });
});
