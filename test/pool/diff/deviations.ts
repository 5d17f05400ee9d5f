// The documented differences between the kernel and pmemdax that the differential test allows. Each
// id is a heading of docs/kernel-differences.md (test/docs/kernel-differences.test.ts checks both ways).
import { PAGE, type Op } from './ops';

/** One op's results and what came before it. */
export interface DeviationCase {
  readonly op: Op;
  readonly kernel: string;
  readonly lib: string;
  readonly ops: readonly Op[];
  readonly index: number;
  /** The library's result lines up to `index` (they matched the kernel's, or a deviation explained them). */
  readonly libResults: readonly string[];
}

export interface Deviation {
  readonly id: string;
  /** The media where the kernel behaves this way. */
  readonly media: readonly string[];
  /** After it the two files may hold different bytes: nothing later in the sequence is compared. */
  readonly changesState: boolean;
  explains(c: DeviationCase): boolean;
}

/** "<result> <size>" → its two fields. */
function fields(line: string): { result: string; size: string } {
  const at = line.lastIndexOf(' ');
  return { result: line.slice(0, at), size: line.slice(at + 1) };
}

/** A SEEK result as an offset, with ENXIO (no data before EOF) as +infinity. */
function seekOffset(result: string): number | null {
  if (result === String(-6)) return Infinity;
  const n = Number(result);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** The kernel sees data where the library sees none: SEEK_DATA earlier, SEEK_HOLE later, same size. */
function kernelSeesMoreData(c: DeviationCase): boolean {
  const k = fields(c.kernel);
  const l = fields(c.lib);
  if (k.size !== l.size || (c.op.kind !== 'D' && c.op.kind !== 'H')) return false;
  const ko = seekOffset(k.result);
  const lo = seekOffset(l.result);
  if (ko === null || lo === null) return false;
  return c.op.kind === 'D' ? ko < lo : ko > lo && ko !== Infinity;
}

/** Some earlier store through the mapping wrote bytes past the EOF of its moment (into the EOF page). */
function storedPastEof(c: DeviationCase): boolean {
  let window = 0;
  for (let i = 0; i < c.index; i++) {
    const op = c.ops[i] as Op;
    if (op.kind === 'M') window = op.off;
    if (op.kind !== 'S') continue;
    const eof = i === 0 ? 0 : Number(fields(c.libResults[i - 1] ?? '0 0').size);
    const eofPageEnd = Math.ceil(eof / PAGE) * PAGE;
    const start = window + op.off;
    if (start < eofPageEnd && start + op.len > eof && eof < eofPageEnd) return true;
  }
  return false;
}

export const DEVIATIONS: readonly Deviation[] = [
  {
    id: 'ext4-unwritten-zeroout',
    media: ['ext4-dax'],
    changesState: false,
    explains: kernelSeesMoreData,
  },
  {
    id: 'ext4-eof-bytes-leak',
    media: ['ext4-dax'],
    changesState: true,
    explains: (c) =>
      (c.op.kind === 'R' || c.op.kind === 'C' || c.op.kind === 'L') && fields(c.kernel).size === fields(c.lib).size && storedPastEof(c),
  },
];
