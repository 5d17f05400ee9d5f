import { corrupt } from '../errors';
import { BLOCK, NO_BLOCK } from '../layout';
import { DEPTH_MAX } from './btree';
import { BRANCH, childOf, compareKey, countOf, keyLength, keyOf, keyOffset, kindOf, pageProblem } from './page';


/**
 * walkTree -- every page and entry of the tree at `root`, checked as a load must (docs/format.md,
 * "Invariants"): each page is claimed (`claim` refuses a block outside the data area or reached twice, by
 * this tree or another), holds at least one cell, and every leaf is at the same depth; keys are in strictly
 * increasing order within the bounds the branches above give them. `entry` gets each entry in key order, as
 * its page and index. Returns the pages walked. What is wrong is ERR_PMEMDAX_CORRUPT naming the tree and the page.
 */
export function walkTree(
  pages: { page(no: number): Buffer },
  path: string,
  tree: string,
  root: number,
  claim: (no: number, tree: string) => void,
  entry: (page: Buffer, index: number) => void,
): number {
  if (root === NO_BLOCK) return 0;
  let walked = 0;
  let leafDepth = -1;
  let last: Buffer | null = null;
  const bad = (no: number, why: string): Error => corrupt(path, `${tree} tree page`, no * BLOCK, why);
  const visit = (no: number, depth: number, lo: Buffer | null, hi: Buffer | null): void => {
    // As deep as a lookup descends (btree.ts): deeper, it is a cycle or damage.
    if (depth > DEPTH_MAX) throw bad(no, `deeper than ${DEPTH_MAX} branch levels`);
    claim(no, tree);
    walked++;
    const p = pages.page(no);
    const n = countOf(p);
    if (n === 0) throw bad(no, 'an empty page');
    const problem = pageProblem(p);
    if (problem !== null) throw bad(no, problem);
    if (kindOf(p) === BRANCH) {
      const keys: Buffer[] = [];
      for (let i = 0; i < n; i++) keys.push(Buffer.from(keyOf(p, i)));
      const children: number[] = [];
      for (let i = 0; i < n; i++) children.push(childOf(p, i));
      for (let i = 1; i < n; i++) {
        const k = keys[i] as Buffer;
        if (i > 1 && Buffer.compare(keys[i - 1] as Buffer, k) >= 0) throw bad(no, `branch key ${i} out of order`);
        if ((lo !== null && Buffer.compare(k, lo) < 0) || (hi !== null && Buffer.compare(k, hi) >= 0)) throw bad(no, `branch key ${i} outside its parent's range`);
      }
      for (let i = 0; i < n; i++) visit(children[i] as number, depth + 1, i === 0 ? lo : (keys[i] as Buffer), i + 1 < n ? (keys[i + 1] as Buffer) : hi);
      return;
    }
    if (leafDepth < 0) leafDepth = depth;
    else if (leafDepth !== depth) throw bad(no, `a leaf at depth ${depth}, another at ${leafDepth}`);
    // In order within the page, and after the page before; then only the ends against the parent's bounds.
    if (last !== null && compareKey(last, p, 0) >= 0) throw bad(no, 'key 0 out of order');
    for (let i = 1; i < n; i++) if (!ascending(p, i - 1, i)) throw bad(no, `key ${i} out of order`);
    if ((lo !== null && compareKey(lo, p, 0) > 0) || (hi !== null && compareKey(hi, p, n - 1) <= 0)) throw bad(no, "a key outside its parent's range");
    // A view: the pages of a committed tree are never written.
    last = keyOf(p, n - 1);
    for (let i = 0; i < n; i++) entry(p, i);
  };
  visit(root, 0, null, null);
  return walked;
}

/** Is cell `a`'s key below cell `b`'s, as bytes? Without views: a load compares every pair of neighbours. */
function ascending(p: Buffer, a: number, b: number): boolean {
  const ao = keyOffset(p, a);
  const bo = keyOffset(p, b);
  const al = keyLength(p, a);
  const bl = keyLength(p, b);
  const n = Math.min(al, bl);
  for (let j = 0; j < n; j++) {
    const d = (p[ao + j] as number) - (p[bo + j] as number);
    if (d !== 0) return d < 0;
  }
  return al < bl;
}
