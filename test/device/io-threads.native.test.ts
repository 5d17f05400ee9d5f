import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runNode, scratchPerTest } from '../support/scratch';

// The jobs of persistAsync and writeAsync run on the addon's own I/O threads (native/io_pool.cpp), which hand
// their results back through a thread-safe function per environment: these check what libuv's pool gave for
// free -- the loop kept alive while a job is in flight and only then, worker threads, exits mid-job.
const LIB = `const { Device } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});`;

describe('I/O threads (child processes)', () => {
  const s = scratchPerTest(tmpdir());

  it('a job in flight keeps the event loop alive until it settles, and an idle device does not', () => {
    const path = s.file('alive');
    const r = runNode(`${LIB}
      const d = Device.open(process.argv[1], { create: true, size: 1 << 20 });
      if (d.info.granularity !== 'page') throw new Error('expected page granularity');
      // Nothing else keeps the loop running: only the job's promise.
      d.writeAsync(4096, Buffer.from('kept alive')).then(() => {
        console.log('settled');
        // No job now: the process must exit by itself with the device still open.
      });`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('settled');
    expect(readFileSync(path).subarray(4096, 4106).toString()).toBe('kept alive');
  });

  it('more jobs than threads at once all settle, in any order, with their bytes in place', () => {
    const path = s.file('many');
    const r = runNode(`${LIB}
      const d = Device.open(process.argv[1], { create: true, size: 4 << 20 });
      const jobs = [];
      for (let i = 0; i < 300; i++) jobs.push(d.writeAsync(i * 4096, Buffer.from('job ' + i)));
      for (let i = 0; i < 50; i++) jobs.push(d.persistAsync([{ offset: i * 8192, length: 8192 }]));
      Promise.all(jobs).then(() => {
        for (let i = 0; i < 300; i++) if (Buffer.from(d.readSafe(i * 4096, 4 + String(i).length)).toString() !== 'job ' + i) throw new Error('lost ' + i);
        console.log(d.stats().asyncPersists);
        d.close();
      });`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Number(r.stdout.trim())).toBe(350);
  });

  it('worker threads run jobs of their own; one ended mid-job (terminate, or exiting with jobs in flight) leaves the process well', () => {
    const path = s.file('workers');
    const r = runNode(`${LIB}
      const { Worker } = require('node:worker_threads');
      const body = ${JSON.stringify(`${LIB}
        const { workerData, parentPort } = require('node:worker_threads');
        const d = Device.open(workerData.path, { create: false });
        const at = workerData.n * 65536;
        const jobs = [];
        for (let i = 0; i < 16; i++) jobs.push(d.writeAsync(at + i * 4096, Buffer.from('w' + workerData.n + '.' + i)));
        if (workerData.mode === 'wait') Promise.all(jobs).then(() => parentPort.postMessage('done'));
        else if (workerData.mode === 'exit') process.exit(0);
        else parentPort.postMessage('issued');`)};
      const run = (n, mode) => new Promise((resolve, reject) => {
        const w = new Worker(body, { eval: true, workerData: { path: process.argv[1], n, mode } });
        w.on('message', (m) => { if (m === 'issued') w.terminate(); });
        w.on('error', reject);
        w.on('exit', resolve);
      });
      const d = Device.open(process.argv[1], { create: true, size: 1 << 20 });
      (async () => {
        await Promise.all([run(0, 'wait'), run(1, 'terminate'), run(2, 'exit'), run(3, 'wait'), run(4, 'terminate')]);
        // The main thread's own jobs still run once the workers are gone.
        await d.writeAsync(15 * 65536, Buffer.from('main after'));
        const text = (at, n) => Buffer.from(d.readSafe(at, n)).toString();
        console.log(text(0, 4), text(3 * 65536 + 15 * 4096, 5), text(15 * 65536, 10));
        d.close();
      })();`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('w0.0 w3.15 main after');
  });

  it('an addon loaded by worker threads only: each worker that ends leaves the I/O threads as they were, and the process well', () => {
    const path = s.file('worker-only');
    const r = runNode(`
      const { Worker } = require('node:worker_threads');
      const fs = require('node:fs');
      fs.writeFileSync(process.argv[1], Buffer.alloc(1 << 20));
      const body = ${JSON.stringify(`${LIB}
        const d = Device.open(require('node:worker_threads').workerData, { create: false });
        d.writeAsync(0, Buffer.from('w')).then(() => d.close());`)};
      const threads = () => fs.readdirSync('/proc/self/task').length;
      (async () => {
        const counts = [];
        for (let i = 0; i < 6; i++) {
          await new Promise((resolve, reject) => new Worker(body, { eval: true, workerData: process.argv[1] }).on('exit', resolve).on('error', reject));
          await new Promise((resolve) => setTimeout(resolve, 30));
          counts.push(threads());
        }
        console.log(JSON.stringify(counts));
      })();`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const counts = JSON.parse(r.stdout) as number[];
    // Node's own threads come and go a little; four more per worker would be a pool started per load.
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThan(4);
  });

  it('workers terminated while their jobs come back, and jobs queued from callbacks meanwhile: no abort', () => {
    const path = s.file('terminate');
    const r = runNode(`${LIB}
      const { Worker } = require('node:worker_threads');
      Device.open(process.argv[1], { create: true, size: 1 << 20 }).close();
      const body = ${JSON.stringify(`${LIB}
        const { parentPort, workerData } = require('node:worker_threads');
        const d = Device.open(workerData, { create: false });
        const buf = new Uint8Array(4096).fill(0x41);
        const again = (i) => d.writeAsync((i % 256) * 4096, buf).then(() => again(i + 256), () => {});
        for (let i = 0; i < 1000; i++) d.writeAsync((i % 256) * 4096, buf);
        for (let i = 0; i < 32; i++) again(i);
        parentPort.postMessage('issued');`)};
      let left = 16;
      const one = () => {
        const w = new Worker(body, { eval: true, workerData: process.argv[1] });
        w.on('message', () => setTimeout(() => w.terminate(), Math.random() * 30));
        w.on('exit', () => { if (--left > 1) one(); else if (left === 0) console.log('done'); });
      };
      one(); one();`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('done');
  });

  it('a worker terminated while writeAsync is still in its native part: no job, no promise, no bad value handed back', () => {
    // terminate() marks the worker's environment as stopping from this thread at once, and N-API then refuses to
    // make the job's promise; the worker's JavaScript only stops at its next check, after the call returns. The
    // value the call hands back then was uninitialised memory (a SIGSEGV under ASan, whose allocator fills it).
    const path = s.file('stopping');
    const r = runNode(`${LIB}
      const { Worker } = require('node:worker_threads');
      Device.open(process.argv[1], { create: true, size: 128 << 20 }).close();
      const body = ${JSON.stringify(`${LIB}
        const { workerData } = require('node:worker_threads');
        const d = Device.open(workerData.path, { create: false });
        const big = new Uint8Array(128 << 20).fill(0x41);
        const calling = new Int32Array(workerData.calling);
        Atomics.store(calling, 0, 1);
        Atomics.notify(calling, 0);
        // Copying the bytes takes the native side long enough for the terminate() to land meanwhile.
        d.writeAsync(0, big).then(() => {}, () => {});`)};
      const calling = new Int32Array(new SharedArrayBuffer(4));
      const w = new Worker(body, { eval: true, workerData: { path: process.argv[1], calling: calling.buffer } });
      Atomics.wait(calling, 0, 0, 30000);
      // Late enough for the worker to be inside the native call (its JavaScript before it would take the
      // termination at once), early enough to land during the copy.
      for (const until = Date.now() + 50; Date.now() < until;);
      w.terminate();
      w.on('exit', () => console.log('done'));`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('done');
  });

  it('a worker terminated with writes queued never writes through a descriptor after its teardown closed it (the number may be reused)', () => {
    const path = s.file('reuse');
    const victim = s.file('victim');
    const r = runNode(`
      const fs = require('node:fs');
      const { Worker } = require('node:worker_threads');
      fs.writeFileSync(process.argv[2], '');
      const body = ${JSON.stringify(`${LIB}
        const { parentPort, workerData } = require('node:worker_threads');
        const d = Device.open(workerData, { create: true, size: 64 << 20 });
        const buf = new Uint8Array(256 * 1024).fill(0x41);
        for (let i = 0; i < 400; i++) d.writeAsync((i % 256) * 256 * 1024, buf);
        parentPort.postMessage('issued');`)};
      const w = new Worker(body, { eval: true, workerData: process.argv[1] });
      w.on('message', () => {
        w.terminate();
        const fds = [];
        const end = Date.now() + 1000;
        while (Date.now() < end) {
          fds.push(fs.openSync(process.argv[2], 'r+'));
          if (fds.length > 50) fs.closeSync(fds.shift());
        }
        for (const fd of fds) fs.closeSync(fd);
        console.log(fs.statSync(process.argv[2]).size);
      });`, [path, victim]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('0');
  });

  it('keeps no request\'s AsyncLocalStorage store alive, and a hook that queues a job while one is being queued does not hang', () => {
    const path = s.file('als');
    const r = runNode(`${LIB}
      const { AsyncLocalStorage, createHook } = require('node:async_hooks');
      const als = new AsyncLocalStorage();
      const d = Device.open(process.argv[1], { create: true, size: 1 << 20 });
      let weak;
      (() => {
        const store = { blob: new Uint8Array(16 << 20) };
        weak = new WeakRef(store);
        als.run(store, () => { d.writeAsync(0, Buffer.from('x')); });
      })();
      let inHook = false;
      let fromHook = null;
      createHook({ init(id, type) {
        if (inHook || type !== 'pmemdax:io' || fromHook !== null) return;
        inHook = true;
        try { fromHook = d.writeAsync(8192, Buffer.from('from hook')); } finally { inHook = false; }
      } }).enable();
      (async () => {
        const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
        for (let i = 0; i < 3; i++) { await tick(); globalThis.gc(); }
        await d.writeAsync(4096, Buffer.from('y'));
        await fromHook;
        for (let i = 0; i < 3; i++) { await tick(); globalThis.gc(); }
        console.log(weak.deref() === undefined ? 'freed' : 'kept', Buffer.from(d.readSafe(8192, 9)).toString());
        d.close();
      })();`, [path], { nodeArgs: ['--expose-gc'] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('freed from hook');
  });

  it('process.exit with jobs in flight exits cleanly', () => {
    const path = s.file('exit');
    const r = runNode(`${LIB}
      const d = Device.open(process.argv[1], { create: true, size: 8 << 20 });
      for (let i = 0; i < 64; i++) d.writeAsync(i * 65536, new Uint8Array(65536).fill(i));
      process.exit(0);`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
  it('PMEMDAX_IO_THREADS: 1 to 64 in decimal digits start that many threads; anything else starts 4, with a note in info.notes', () => {
    const path = s.file('count');
    const script = `${LIB}
      const d = Device.open(process.argv[1], { create: true, size: 1 << 20 });
      d.writeAsync(0, new Uint8Array(8)).then(() => {
        const { readdirSync, readFileSync } = require('node:fs');
        const threads = readdirSync('/proc/self/task').filter((t) => readFileSync('/proc/self/task/' + t + '/comm', 'utf8').startsWith('pmemdax-io')).length;
        console.log(JSON.stringify({ threads, notes: d.info.notes.filter((n) => n.includes('PMEMDAX_IO_THREADS')) }));
      });`;
    const cases: [string, number, boolean][] = [
      ['1', 1, false], ['7', 7, false], ['64', 64, false],
      ['0', 4, true], ['65', 4, true], ['-1', 4, true], ['abc', 4, true], ['', 4, true], ['3abc', 4, true], ['2.9', 4, true], [' 2', 4, true], ['0x10', 4, true], ['007', 4, true],
    ];
    for (const [value, threads, noted] of cases) {
      const r = runNode(script, [path], { env: { PMEMDAX_IO_THREADS: value } });
      expect(r.stderr, value).toBe('');
      const out = JSON.parse(r.stdout) as { threads: number; notes: string[] };
      expect(out.threads, JSON.stringify(value)).toBe(threads);
      expect(out.notes.length, JSON.stringify(value)).toBe(noted ? 1 : 0);
    }
  });
});
