import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runNode, scratchPerTest } from '../support/scratch';

// Child processes load the built library (dist/, built by the native project's global setup).
const LIB = `const { Device } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});`;

describe('lifecycle in child processes', () => {
  const s = scratchPerTest('/dev/shm');

  it('exiting without close keeps persisted data and exits cleanly', () => {
    const path = s.file('exit');
    const r = runNode(`${LIB}
      const d = Device.open(process.argv[1], { create: true, size: 1 << 20 });
      d.copy(100, Buffer.from('survives exit'));
      process.exit(0);`, [path]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(readFileSync(path).subarray(100, 113).toString()).toBe('survives exit');
  });

  it('a worker thread opens, writes and exits without close; a terminated worker is cleaned up', () => {
    const path = s.file('worker');
    const r = runNode(`${LIB}
      const { Worker } = require('node:worker_threads');
      const body = ${JSON.stringify(`${LIB}
        const { workerData } = require('node:worker_threads');
        const d = Device.open(workerData.path, { create: true, size: 1 << 20 });
        d.copy(0, Buffer.from('from worker ' + workerData.n));
        const view = d.directAccess(0, 1).view;
        if (workerData.spin) { require('node:worker_threads').parentPort.postMessage('ready'); for (;;) view[4095]++; }`)};
      const run = (n, spin) => new Promise((resolve, reject) => {
        const w = new Worker(body, { eval: true, workerData: { path: process.argv[1], n, spin } });
        w.on('message', () => w.terminate());
        w.on('error', reject);
        w.on('exit', resolve);
      });
      (async () => {
        await run(1, false);
        await run(2, true);
        const d = Device.open(process.argv[1]);
        console.log(Buffer.from(d.readSafe(0, 13)).toString());
        d.close();
      })();`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('from worker 2');
  });

  it('the GC finalizer releases the mapping and descriptor of devices never closed', () => {
    const r = runNode(`${LIB}
      const fs = require('node:fs');
      const count = () => ({ fds: fs.readdirSync('/proc/self/fd').length,
        maps: fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes(process.argv[1])).length });
      (async () => {
        for (let i = 0; i < 200; i++) Device.open(process.argv[1], { create: true, size: 1 << 20 }).persist(0, 64);
        const before = count();
        for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
        console.log(JSON.stringify({ before, after: count() }));
      })();`, [s.file('gc')], { nodeArgs: ['--expose-gc'] });
    expect(r.stderr).toBe('');
    const { before, after } = JSON.parse(r.stdout) as { before: { fds: number; maps: number }; after: { fds: number; maps: number } };
    expect(before.maps).toBeGreaterThanOrEqual(100);
    expect(after.maps).toBe(0);
    expect(after.fds).toBeLessThanOrEqual(before.fds - 100);
  });

  it('a view outlives its garbage-collected device: the mapping stays until the view goes', () => {
    const path = s.file('view');
    const r = runNode(`${LIB}
      (async () => {
        let view = Device.open(process.argv[1], { create: true, size: 1 << 20 }).directAccess(0, 1).view;
        for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
        view.set(Buffer.from('still mapped'), 0);
        console.log(view.byteLength);
      })();`, [path], { nodeArgs: ['--expose-gc'] });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('4096');
    expect(readFileSync(path).subarray(0, 12).toString()).toBe('still mapped');
  });
});

describe('SIGBUS on the host: a mapping past a truncated file', () => {
  const s = scratchPerTest('/dev/shm');

  // The script expects a variable named path in scope.
  const SETUP = `${LIB}
    const fs = require('node:fs');
    const d = Device.open(path, { create: true, size: 4 * 4096 });
    d.fill(0, 0x61, 4 * 4096);
    fs.truncateSync(path, 4096); // pages 1-3 of the mapping now lie past EOF`;

  it('readSafe over the lost pages throws EIO with the offset, and the process lives on', () => {
    const r = runNode(`const path = process.argv[1]; ${SETUP}
      const out = {};
      try { d.readSafe(100, 3 * 4096); } catch (e) { out.code = e.code; out.errno = e.errno; out.offset = e.offset; out.syscall = e.syscall; }
      out.first = Buffer.from(d.readSafe(0, 4)).toString();
      console.log(JSON.stringify(out));`, [s.file('bus')]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ code: 'EIO', errno: -5, offset: 4096, syscall: 'read', first: 'aaaa' });
  });

  it('copySafe of a large range: EIO at the first lost page with every page before it copied, again and again (SIGBUS is unblocked after each recovery)', () => {
    const r = runNode(`const path = process.argv[1]; ${LIB}
      const fs = require('node:fs');
      const d = Device.open(path, { create: true, size: 64 * 4096 });
      d.fill(0, 0x61, 64 * 4096);
      fs.truncateSync(path, 37 * 4096);
      const seen = [];
      for (const start of [0, 4096 + 100, 36 * 4096]) {
        const target = new Uint8Array(64 * 4096 - start);
        try { d.copySafe(start, target); seen.push('no error'); } catch (e) {
          const before = e.offset - start;
          seen.push([e.code, e.offset, target.subarray(0, before).every((b) => b === 0x61)]);
        }
      }
      console.log(JSON.stringify(seen));`, [s.file('big')]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([['EIO', 37 * 4096, true], ['EIO', 37 * 4096, true], ['EIO', 37 * 4096, true]]);
  });

  it('readSafe recovers on a worker thread too', () => {
    const r = runNode(`${LIB}
      const { Worker } = require('node:worker_threads');
      const w = new Worker(${JSON.stringify(`const path = require('node:worker_threads').workerData; ${SETUP}
        try { d.readSafe(8192, 10); } catch (e) { require('node:worker_threads').parentPort.postMessage(e.code + ' ' + e.offset); }`)},
        { eval: true, workerData: process.argv[1] });
      w.on('message', (m) => console.log(m));`, [s.file('w')]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('EIO 8192');
    expect(existsSync(s.file('w'))).toBe(true);
  });

  it('a raw load from a lost page kills the process by SIGBUS (the handler passes it on)', () => {
    const r = runNode(`const path = process.argv[1]; ${SETUP}
      d.readSafe(0, 10); // installs and exercises the handler first
      const view = d.directAccess(2, 1).view;
      console.log(view[0]);`, [s.file('raw')]);
    expect(r.signal).toBe('SIGBUS');
    expect(r.stdout).toBe('');
  });
});
