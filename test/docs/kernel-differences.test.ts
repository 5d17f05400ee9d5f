// docs/kernel-differences.md lists every difference from the kernel that the differential test
// (test/pool/difftest.pmem.test.ts) allows; the test's table names them by the same ids. Neither may
// name an id the other lacks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DEVIATIONS } from '../pool/diff/deviations';

const DOC = join(__dirname, '..', '..', 'docs', 'kernel-differences.md');

it('the differential test allows exactly the deviations docs/kernel-differences.md lists', () => {
  const headings = [...readFileSync(DOC, 'utf8').matchAll(/^### `([a-z0-9-]+)`/gm)].map((m) => m[1]);
  expect([...DEVIATIONS.map((d) => d.id)].sort()).toEqual([...headings].sort());
  expect(new Set(headings).size).toBe(headings.length);
});
