import { EntryKind, HUGE_ZERO_PFN, ZERO_PAGE_PFN, type DaxEntry } from './entry';
import type { DaxMapping } from './mapping';

/**
 * checkMapping -- the structural invariants of docs/semantics.md §8 that hold for a mapping at rest:
 * 1 (no overlap), 2 (PMD alignment), 3 (exclusive kinds, pfns), 4 (marks only on REAL),
 * 25 (nrpages). With `unlocked`, also 7 (nothing left locked). Returns the violations found.
 */
export function checkMapping(m: DaxMapping, unlocked = false): string[] {
  const bad: string[] = [];
  const all: DaxEntry[] = m.tree.collect(0, Number.MAX_SAFE_INTEGER);
  let pages = 0;
  let prevEnd = -1;
  for (const e of all) {
    const where = `entry at ${e.index}`;
    if (e.index < prevEnd) bad.push(`1: ${where} overlaps the entry before it`);
    prevEnd = e.index + e.pages;
    pages += e.pages;
    if (!e.present) bad.push(`${where} is in the tree but marked removed`);
    if (e.order !== 0 && e.order !== 9) bad.push(`2: ${where} has order ${String(e.order)}`);
    if (e.isPmd) {
      if (e.index % 512 !== 0) bad.push(`2: PMD ${where} is not 512-aligned`);
      if (e.kind === EntryKind.REAL && e.pfn % 512 !== 0) bad.push(`2: PMD ${where} has pfn ${e.pfn}`);
    }
    if (e.kind === EntryKind.EMPTY && e.pfn !== 0) bad.push(`3: EMPTY ${where} has pfn ${e.pfn}`);
    if (e.kind === EntryKind.ZERO && e.pfn !== (e.isPmd ? HUGE_ZERO_PFN : ZERO_PAGE_PFN)) bad.push(`3: ZERO ${where} has pfn ${e.pfn}`);
    if (e.kind === EntryKind.REAL && e.pfn < 0) bad.push(`3: REAL ${where} has pfn ${e.pfn}`);
    if (e.kind !== EntryKind.REAL && (e.dirty || e.towrite)) bad.push(`4: non-REAL ${where} carries marks`);
    if (unlocked && e.locked) bad.push(`7: ${where} is still locked`);
    for (let i = e.index; i < e.index + e.pages; i += e.isPmd ? 64 : 1) {
      if (m.tree.load(i) !== e) bad.push(`1: index ${i} does not resolve to ${where}`);
    }
  }
  if (pages !== m.nrpages) bad.push(`25: nrpages is ${m.nrpages}, entries cover ${pages}`);
  if ((all.length === 0) !== m.empty) bad.push('25: emptiness disagrees with the entries');
  return bad;
}
