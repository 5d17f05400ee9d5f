// The operations of the differential test, their text form (what diff-exec.c reads) and a seeded
// generator of sequences. The byte pattern and the hash must match diff-exec.c.
import { Prng } from '../../dax/support/prng';

export const PAGE = 4096;
/** Files stay within this many pages, so that sequences revisit the same blocks. */
const FILE_PAGES = 16;

export type FallocMode = 'allocate' | 'keep-size' | 'punch-hole' | 'zero-range';
export const FALLOC_MODES: readonly FallocMode[] = ['allocate', 'keep-size', 'punch-hole', 'zero-range'];

export type Op =
  | { readonly kind: 'W'; readonly off: number; readonly len: number; readonly seed: number }
  | { readonly kind: 'R'; readonly off: number; readonly len: number }
  | { readonly kind: 'T'; readonly size: number }
  | { readonly kind: 'F'; readonly mode: FallocMode; readonly off: number; readonly len: number }
  | { readonly kind: 'D' | 'H'; readonly off: number }
  | { readonly kind: 'M'; readonly off: number; readonly len: number }
  | { readonly kind: 'L'; readonly off: number; readonly len: number }
  | { readonly kind: 'S'; readonly off: number; readonly len: number; readonly seed: number }
  | { readonly kind: 'Y' | 'U' | 'C' };

/** The line diff-exec reads for `op`. */
export function opLine(op: Op): string {
  switch (op.kind) {
    case 'W':
    case 'S':
      return `${op.kind} ${op.off} ${op.len} ${op.seed}`;
    case 'R':
    case 'M':
    case 'L':
      return `${op.kind} ${op.off} ${op.len}`;
    case 'T':
      return `T ${op.size}`;
    case 'F':
      return `F ${FALLOC_MODES.indexOf(op.mode)} ${op.off} ${op.len}`;
    case 'D':
    case 'H':
      return `${op.kind} ${op.off}`;
    default:
      return op.kind;
  }
}

/** The bytes a write or store of `len` bytes with `seed` carries (never zero, so holes show). */
export function pattern(seed: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = ((seed * 131 + i * 7 + (i >> 8)) % 251) + 1;
  return out;
}

/** A read's or load's result: its byte count and FNV-1a hash, as diff-exec prints it. */
export function bytesResult(bytes: Uint8Array): string {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return `n${bytes.length}:${h.toString(16).padStart(8, '0')}`;
}

/** A sequence of `count` operations for `seed`, ending with a read of the whole file. */
export function generate(seed: number, count: number): Op[] {
  const prng = new Prng(seed * 2654435761 + 1);
  const rnd = (): number => prng.next();
  const int = (n: number): number => prng.int(n);
  // Half the offsets and lengths fall on block boundaries: that is where extents change shape.
  const offset = (pages: number): number => (rnd() < 0.5 ? int(pages) * PAGE : int(pages * PAGE));
  const length = (pages: number): number => (rnd() < 0.5 ? (1 + int(pages)) * PAGE : 1 + int(pages * PAGE));
  let window: { off: number; len: number } | null = null;
  const ops: Op[] = [];
  while (ops.length < count - 1) {
    const r = rnd();
    if (r < 0.2) ops.push({ kind: 'W', off: offset(FILE_PAGES - 2), len: length(3), seed: int(1000) });
    else if (r < 0.27) ops.push({ kind: 'R', off: offset(FILE_PAGES), len: length(4) });
    else if (r < 0.37) ops.push({ kind: 'T', size: offset(FILE_PAGES) });
    else if (r < 0.57) ops.push({ kind: 'F', mode: FALLOC_MODES[int(4)] ?? 'allocate', off: offset(FILE_PAGES - 2), len: length(4) });
    else if (r < 0.67) ops.push({ kind: rnd() < 0.5 ? 'D' : 'H', off: offset(FILE_PAGES) });
    else if (window === null || r < 0.7) {
      window = { off: int(4) * PAGE, len: (1 + int(12)) * PAGE };
      ops.push({ kind: 'M', ...window });
    } else if (r < 0.8) ops.push({ kind: 'L', ...inside(window) });
    else if (r < 0.9) ops.push({ kind: 'S', ...inside(window), seed: int(1000) });
    else if (r < 0.95) ops.push({ kind: 'Y' });
    else if (r < 0.97) {
      ops.push({ kind: 'U' });
      window = null;
    } else ops.push({ kind: 'C' });
  }
  ops.push({ kind: 'C' });
  return ops;

  function inside(w: { len: number }): { off: number; len: number } {
    const off = int(w.len);
    return { off, len: 1 + int(Math.min(2 * PAGE, w.len - off)) };
  }
}

/** `"a-b"` or `"a"` → the seeds it names (inclusive). */
export function parseSeeds(text: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`a seed range is "first-last" or one seed, received "${text}"`);
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
