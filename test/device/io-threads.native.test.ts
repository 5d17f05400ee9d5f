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

  it('process.exit with jobs in flight exits cleanly', () => {
    const path = s.file('exit');
    const r = runNode(`${LIB}
      const d = Device.open(process.argv[1], { create: true, size: 8 << 20 });
      for (let i = 0; i < 64; i++) d.writeAsync(i * 65536, new Uint8Array(65536).fill(i));
      process.exit(0);`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
