/**
 * One growable scratch buffer for the copy paths that stage data between two device locations
 * (copy-around, unshare, dedupe compare). Callers are synchronous and never nest, so sharing it is safe.
 */
let a = new Uint8Array(64 * 1024);
let b = new Uint8Array(64 * 1024);

/** The largest chunk staged at once. */
export const SCRATCH_MAX = 1024 * 1024;

export function scratchA(n: number): Uint8Array {
  if (a.length < n) a = new Uint8Array(Math.min(SCRATCH_MAX, Math.max(n, a.length * 2)));
  return a.subarray(0, n);
}

export function scratchB(n: number): Uint8Array {
  if (b.length < n) b = new Uint8Array(Math.min(SCRATCH_MAX, Math.max(n, b.length * 2)));
  return b.subarray(0, n);
}
