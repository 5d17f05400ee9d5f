import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runNode, scratchPerTest } from '../support/scratch';

// Issue 13 item 7: native code that validated a caller's SharedArrayBuffer-backed array and then read it
// again could act on values it never checked (persistRanges flushed an arbitrary address: SIGSEGV). Every
// entry point that takes caller memory is run against memory another thread keeps changing, and against
// detached and empty views; each call must end in its result or a JavaScript error, in a live process.

const PRELUDE = `
  const dist = ${JSON.stringify(`${PROJECT_ROOT}/dist`)};
  const { Device } = require(dist + '/index.js');
  const { Worker } = require('node:worker_threads');
  const SIZE = 1 << 20;
  // A worker that flips the first numbers of a shared Float64Array between values that pass the range
  // checks and values far outside the device, until told to stop.
  function flipper(sab, good, bad) {
    const control = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(\`
      const { workerData: { sab, control, good, bad } } = require('node:worker_threads');
      const a = new Float64Array(sab), c = new Int32Array(control);
      Atomics.store(c, 1, 1);
      Atomics.notify(c, 1);
      while (Atomics.load(c, 0) === 0) {
        for (let i = 0; i < good.length; i++) a[i] = bad[i];
        for (let i = 0; i < good.length; i++) a[i] = good[i];
      }\`, { eval: true, workerData: { sab, control: control.buffer, good, bad } });
    Atomics.wait(control, 1, 0, 5000);
    return { stop: () => { Atomics.store(control, 0, 1); return worker.terminate(); } };
  }
`;

describe('native entry points read caller memory once (child processes)', () => {
  const s = scratchPerTest('/dev/shm');

  it('persistRanges racing a worker that rewrites its SharedArrayBuffer pairs never flushes an unchecked range', () => {
    // Cache-line granularity: a flush is clflush on the address itself, so an unchecked range is a SIGSEGV
    // (at page granularity msync would merely fail). Many pairs widen the gap between check and use.
    const r = runNode(`${PRELUDE}
      const device = Device.open(process.argv[1], { create: true, size: SIZE });
      const pairs = new Float64Array(new SharedArrayBuffer(2 * 512 * 8));
      for (let i = 0; i < 512; i++) { pairs[2 * i] = (i * 64) % SIZE; pairs[2 * i + 1] = 64; }
      const f = flipper(pairs.buffer, [0, 64], [2 ** 45, 2 ** 45]);
      const seen = { ok: 0 };
      const count = (e) => { seen[e.code] = (seen[e.code] ?? 0) + 1; };
      const end = Date.now() + 1500;
      while (Date.now() < end) {
        try { device.persistRanges(pairs); seen.ok++; } catch (e) { count(e); }
      }
      f.stop().then(() => { console.log(JSON.stringify(Object.keys(seen).sort())); device.close(); });
    `, [s.file('dev')], { env: { PMEMDAX_FORCE_GRANULARITY: 'cacheline' } });
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const kinds = JSON.parse(r.stdout) as string[];
    expect(kinds).toContain('ok');
    for (const k of kinds) expect(['ok', 'ERR_OUT_OF_RANGE']).toContain(k);
  });

  it('the shared hot-path functions refuse anything but a device handle as their first argument', () => {
    const r = runNode(`${PRELUDE}
      const { native } = require(dist + '/native.js');
      const out = [];
      for (const [name, fn] of Object.entries(native.NativeDevice.hotPath)) {
        for (const bad of [undefined, null, 0, {}, new Float64Array(2)]) {
          try { fn(bad, 0, 64, 0, 0); out.push(name + ' accepted'); } catch (e) { out.push(e.code); }
        }
      }
      console.log(JSON.stringify([...new Set(out)]));
    `);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['ERR_INVALID_ARG_TYPE']);
  });

  // Every entry point that takes caller memory (each is given Float64Arrays: persistRanges takes no other).
  const ENTRY_POINTS = {
    persistRanges: `(view) => device.persistRanges(view)`,
    copy: `(view) => device.copy(4096, view)`,
    copySafe: `(view) => device.copySafe(4096, view)`,
    clearBadblocks: `(view) => device.clearBadblocks(0, view.byteLength, view)`,
  } as const;

  it.each(Object.entries(ENTRY_POINTS))('%s with shared memory changing under it, detached memory and empty views', (_name, call) => {
    const r = runNode(`${PRELUDE}
      const device = Device.open(process.argv[1], { create: true, size: SIZE });
      const call = ${call};
      const outcome = (view) => { try { call(view); return 'ok'; } catch (e) { return e.code ?? e.name; } };
      const results = new Set();
      // Shared: a page of [offset, length] pairs that are in range, or far out of it, by turns.
      const shared = new Float64Array(new SharedArrayBuffer(4096));
      for (let i = 0; i < 256; i++) { shared[2 * i] = i * 64; shared[2 * i + 1] = 64; }
      const f = flipper(shared.buffer, [0, 64], [2 ** 45, 2 ** 50]);
      for (let i = 0; i < 2000; i++) results.add(outcome(shared));
      // Detached: transferred away.
      const gone = new Float64Array(512);
      structuredClone(gone.buffer, { transfer: [gone.buffer] });
      results.add(outcome(gone));
      results.add(outcome(new Float64Array(0)));
      f.stop().then(() => { console.log(JSON.stringify([...results].sort())); device.close(); });
    `, [s.file('dev')], { env: { PMEMDAX_FORCE_GRANULARITY: 'cacheline' } });
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const outcomes = JSON.parse(r.stdout) as string[];
    expect(outcomes).toContain('ok');
    for (const o of outcomes) expect(['ok', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_TYPE', 'EINVAL']).toContain(o);
  });
});
