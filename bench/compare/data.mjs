// data.mjs -- the data every contender holds: the same bytes at the same places, and the sizes involved.
import { randomFillSync } from 'node:crypto';

import { KiB, MiB } from '../common/data.mjs';

/** Record sizes of the durable-write workloads; 1 MiB is the sequential one. */
export const RECORD_SIZES = [64, 4 * KiB, 64 * KiB];
export const SEQ_SIZE = MiB;

/** lmdb holds records as values; its 64 B key space is capped (see the method notes in run.mjs). */
export const LMDB_SMALL_KEYS = 262144;

/** Filler for the data set: one random MiB, stamped with its chunk number so no two chunks are equal. */
export function chunkMaker(seed = 1) {
  const base = new Uint8Array(MiB);
  randomFillSync(base);
  base[0] = seed;
  const chunk = new Uint8Array(MiB);
  return (k) => {
    chunk.set(base);
    new DataView(chunk.buffer).setFloat64(8, k, true);
    return chunk;
  };
}

/** Batches of `size`-byte records for the reopen workload; record i starts with i (uint32). */
export function recordBatches(size, batch) {
  const buf = Buffer.alloc(size * batch, 0x5a);
  return (first, n) => {
    for (let j = 0; j < n; j++) buf.writeUInt32LE(first + j, j * size);
    return buf.subarray(0, n * size);
  };
}
