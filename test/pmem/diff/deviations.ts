// The documented differences between the kernel and pmemdax that the differential test allows. Each
// id is a heading of docs/kernel-differences.md (test/unit/kernel-differences.test.ts checks both ways).
import type { Op } from './ops';

export interface Deviation {
  readonly id: string;
  /** The media where the kernel behaves this way. */
  readonly media: readonly string[];
  /** After it the two files may hold different bytes or sizes. */
  readonly changesState: boolean;
  /** True when this deviation accounts for the kernel's result `kernel` and the library's `lib` for `op`. */
  explains(op: Op, kernel: string, lib: string): boolean;
}

export const DEVIATIONS: readonly Deviation[] = [];
