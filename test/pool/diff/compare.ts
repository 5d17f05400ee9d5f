// Comparing the kernel's results with the pool's and MemFs's, op by op. The pool and MemFs must agree
// exactly; where they differ from the kernel, only a deviation of docs/kernel-differences.md may
// explain it, by its id.
import { opLine, type Op } from './ops';
import { DEVIATIONS } from './deviations';

export interface Divergence {
  readonly seed: number;
  readonly index: number;
  readonly op: string;
  readonly kernel: string;
  readonly pool: string;
  readonly memfs: string;
  /** The sequence up to and including the op, for reading the report. */
  readonly prefix: string;
}

export interface SeedOutcome {
  readonly divergence: Divergence | null;
  /** Ids of the documented deviations the sequence met. */
  readonly allowed: readonly string[];
}

export function compareSeed(medium: string, seed: number, ops: readonly Op[], kernel: readonly string[], pool: readonly string[], memfs: readonly string[]): SeedOutcome {
  const allowed: string[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Op;
    const k = kernel[i] ?? '(none)';
    const p = pool[i] ?? '(none)';
    const m = memfs[i] ?? '(none)';
    if (k === p && p === m) continue;
    const seen = { op, kernel: k, lib: p, ops, index: i, libResults: pool.slice(0, i) };
    const deviation = p === m ? DEVIATIONS.find((d) => d.media.includes(medium) && d.explains(seen)) : undefined;
    if (deviation === undefined) {
      const prefix = ops.slice(0, i + 1).map(opLine).join(' | ');
      return { divergence: { seed, index: i, op: opLine(op), kernel: k, pool: p, memfs: m, prefix }, allowed };
    }
    allowed.push(deviation.id);
    // The files may now differ for good: nothing after this op can be compared.
    if (deviation.changesState) break;
  }
  return { divergence: null, allowed };
}
