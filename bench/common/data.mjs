// data.mjs -- sizes and payload bytes the benchmark suites share.
import { randomFillSync } from 'node:crypto';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** A record payload of `size` bytes whose first 8 bytes carry `i` (so successive writes differ). */
export function payload(size, seed = 7) {
  const buf = Buffer.alloc(size);
  randomFillSync(buf);
  buf[0] = seed;
  return buf;
}
