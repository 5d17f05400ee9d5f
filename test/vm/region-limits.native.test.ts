import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { PROJECT_ROOT, scratchPerTest } from '../support/scratch';

const PRELUDE = `
  const dist = ${JSON.stringify(`${PROJECT_ROOT}/dist`)};
  const { Device } = require(dist + '/index.js');
  const { AddressSpace } = require(dist + '/fs.js');
  const { MemFs, memFsFile } = require(dist + '/testing/index.js');
  const PAGE = 4096;
  const say = (...a) => process.stdout.write(a.join(' ') + '\\n');
  // Use up vm.max_map_count: every other page of a big reservation made readable is one more mapping.
  function exhaustMappings() {
    const limit = Number(require('node:fs').readFileSync('/proc/sys/vm/max_map_count', 'utf8'));
    const hog = new AddressSpace((limit + 1000) * 2 * PAGE);
    for (let i = 0; i < limit + 1000; i++) {
      try { hog.protect(i * 2 * PAGE, PAGE, 'read'); } catch (e) { return { hog, code: e.code }; }
    }
    return { hog, code: 'none' };
  }
`;

// V8 itself needs new mappings when a collection promotes objects or grows the heap: a collection forced
// just before the limit is reached leaves the young generation empty, so that none has to run between
// exhausting the limit and the assertions (where the allocation count of module loading and warm-up
// alone would decide it), and the child lives to report them.
// The sanitizer runtime maps memory of its own at any time: at the limit it aborts before the child
// can report anything, so the sanitizer run (scripts/test-asan.mjs) leaves this test out.
const UNDER_SANITIZER = (process.env.LD_PRELOAD ?? '').includes('libasan');

describe.skipIf(UNDER_SANITIZER)('vm.max_map_count (child processes)', () => {
  const s = scratchPerTest('/dev/shm');

  it('a fault that cannot map its page reports ENOMEM naming vm.max_map_count; a write trap that cannot unprotect says so before the process dies', () => {
    // A script file rather than \`node -e\`: eval'd code is compiled lazily, and compiling after the
    // limit is reached needs memory V8 cannot get.
    const script = `${s.dir}/child.js`;
    writeFileSync(script, `${PRELUDE}
      (async () => {
        const device = Device.open(process.argv[2], { create: true, size: 16 * PAGE * 64 });
        const fs = new MemFs(device);
        const inode = fs.create();
        await fs.write(inode, 0, new Uint8Array(64 * PAGE).fill(1));
        const file = memFsFile(fs, inode);
        const region = file.mmap({ length: 64 * PAGE, huge: false });
        await region.populate({ offset: 0, length: 8 * PAGE }, 'write');
        // Run every path once first: compiling code after the limit needs memory V8 cannot get.
        const report = (e) => e.code + ' ' + /max_map_count/.test(e.message);
        report(new Error('warm-up'));
        await region.fault(20); // not next to page 40, which must need a mapping of its own
        region.bytes[5 * PAGE] = 1;
        await file.fsync();
        globalThis.gc();
        const { code } = exhaustMappings();
        let outcome = 'fault ok';
        try { await region.fault(40); } catch (e) { outcome = 'fault ' + report(e); }
        say('exhausted', code);
        say(outcome);
        region.bytes[3 * PAGE] = 7;
        say('stored');
      })();`);
    // V8 may still need a mapping of its own after the limit is reached (a collection that happens to
    // run); it then dies of "FATAL ERROR ... out of memory" before our code runs. That is V8's luck,
    // not the behaviour under test, so such a run is repeated (a few times at most).
    const run = () => spawnSync(process.execPath, ['--expose-gc', script, `${s.dir}/dev`], { encoding: 'utf8', timeout: 60_000 });
    let r = run();
    for (let attempt = 1; attempt < 4 && r.stderr.includes('FATAL ERROR'); attempt++) r = run();
    expect(r.stdout.split('\n')).toEqual(['exhausted ENOMEM', 'fault ENOMEM true', '']);
    expect(r.stderr).toContain('pmemdax: a write trap could not make its page writable: mprotect failed with ENOMEM');
    expect(r.stderr).toContain('vm.max_map_count');
    expect(r.signal).toBe('SIGSEGV');
  });
});
