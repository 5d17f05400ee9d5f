/**
 * Growable scratch buffers for the copy paths that stage data between two device locations
 * (copy-around, unshare, a fault's copy, dedupe's compare). Callers are synchronous and never nest, so
 * sharing them is safe. The staging buffer holds what is copied; dedupe alone needs the second, to hold
 * the bytes it compares against.
 */
let staging = new Uint8Array(64 * 1024);
let comparison = new Uint8Array(64 * 1024);

/** The largest chunk staged at once. */
export const SCRATCH_MAX = 1024 * 1024;

export function stagingBuffer(n: number): Uint8Array {
  if (staging.length < n) staging = new Uint8Array(Math.min(SCRATCH_MAX, Math.max(n, staging.length * 2)));
  return staging.subarray(0, n);
}

export function comparisonBuffer(n: number): Uint8Array {
  if (comparison.length < n) comparison = new Uint8Array(Math.min(SCRATCH_MAX, Math.max(n, comparison.length * 2)));
  return comparison.subarray(0, n);
}
