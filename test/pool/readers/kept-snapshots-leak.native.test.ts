import { afterEach, beforeEach, expect, it } from 'vitest';
import { PROJECT_ROOT, runNode, scratchDir } from '../../support/scratch';

const DIST = `${PROJECT_ROOT}/dist/index.js`;
let s: ReturnType<typeof scratchDir>;
beforeEach(() => {
  s = scratchDir('/dev/shm');
});
afterEach(() => s.cleanup());

// Memory the reader keeps after `refreshes` new snapshots, its only file (if any) closed at the end.
function retained(path: string, holdFile: boolean): number {
  const run = runNode(`
    const { Pool } = require(${JSON.stringify(DIST)});
    const path = process.argv[1];
    Pool.create(path, { size: 2 * 1024 ** 3, journalBytes: 64 * 1024 }).closeSync();
    let w = Pool.open(path);
    const f = w.open('a', { create: true, sync: true }); f.writeSync(Buffer.alloc(4096, 1), 0); f.close();
    const r = Pool.open(path, { readonly: true });
    const fa = ${holdFile} ? r.open('a', { readonly: true }) : null;
    const fb = ${holdFile} ? r.open('a', { readonly: true }) : null;
    for (let i = 0; i < 100; i++) {
      w.open('x' + i, { create: true }).close();
      w.closeSync(); // a checkpoint: the next refresh takes a new snapshot
      w = Pool.open(path);
      r.refresh();
    }
    if (fa) { fa.close(); fb.close(); } // the last file of the old snapshots: every one of them may go
    globalThis.gc(); globalThis.gc();
    console.log(process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed);
    r.closeSync(); w.closeSync();`, [path], { nodeArgs: ['--expose-gc'] });
  expect(run.status, run.stderr).toBe(0);
  return Number(run.stdout.trim());
}

it('a reader that refreshes while one file is open lets every old snapshot go once that file closes', () => {
  const without = retained(s.file('p1'), false);
  const withFile = retained(s.file('p2'), true);
  // Each snapshot of a 2 GiB pool holds a 64 KiB bitmap: 100 of them kept would be ~6.4 MiB more.
  expect(withFile - without).toBeLessThan(2 * 1024 * 1024);
});
