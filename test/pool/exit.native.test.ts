import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib/pool';
import { PROJECT_ROOT, runNode, scratchPerTest } from '../support/scratch';

// Children load the built library (dist/, built by the native project's global setup), as an application would.
const LIB = JSON.stringify(`${PROJECT_ROOT}/dist/index.js`);

/**
 * The work every child does before it ends: a committed write and a second file created (durable on
 * return), then, none of it fsynced, an overwrite of committed blocks, an append into new blocks, and a
 * write to the empty file.
 */
const WORK = `
  const { Device, Pool } = require(${LIB});
  const fill = (n, byte) => Buffer.alloc(n, byte);
  function work(path) {
    const pool = Pool.create(path, { size: 4 << 20 });
    const a = pool.open('a', { create: true });
    a.writeSync(fill(10000, 0x41), 0);
    a.fsyncSync();
    // Creating a file commits (pool-wide), so it comes before the writes left uncommitted.
    const b = pool.open('b', { create: true });
    a.writeSync(fill(5000, 0x42), 0);
    a.appendSync(fill(20000, 0x43));
    b.writeSync(fill(3000, 0x44), 0);
    return pool;
  }`;

/** Runs `body` (with `work` and `path` in scope) in a worker thread and resolves when it has exited. */
const IN_WORKER = (body: string, then: string): string => `
  const { Worker } = require('node:worker_threads');
  const w = new Worker(${JSON.stringify(`${WORK}\nconst path = require('node:worker_threads').workerData;\n`)} + ${JSON.stringify(body)},
    { eval: true, workerData: process.argv[1] });
  ${then}`;

interface End {
  readonly name: string;
  readonly script: string;
  /** What the docs promise for this end: everything written, or the last commit. */
  readonly keeps: 'all' | 'committed';
  readonly status: number | null;
  readonly signal?: NodeJS.Signals;
  readonly stdout?: string;
}

const ENDS: readonly End[] = [
  { name: 'the event loop runs dry', script: 'work(path);', keeps: 'all', status: 0 },
  { name: 'process.exit()', script: 'work(path); setTimeout(() => {}, 60_000); process.exit();', keeps: 'all', status: 0 },
  { name: 'process.exit(3)', script: 'work(path); process.exit(3);', keeps: 'all', status: 3 },
  { name: 'process.exitCode and return', script: 'work(path); process.exitCode = 4;', keeps: 'all', status: 4 },
  { name: 'an uncaught exception', script: "work(path); throw new Error('boom');", keeps: 'committed', status: 1 },
  { name: 'an unhandled rejection', script: "work(path); Promise.reject(new Error('boom'));", keeps: 'committed', status: 1 },
  {
    name: 'a worker thread finishing',
    script: IN_WORKER('work(path);', "w.on('exit', (code) => { process.exitCode = code; });"),
    keeps: 'all',
    status: 0,
  },
  {
    name: 'a worker thread calling process.exit()',
    script: IN_WORKER('work(path); process.exit(0);', "w.on('exit', (code) => { process.exitCode = code; });"),
    keeps: 'all',
    status: 0,
  },
  {
    name: 'worker.terminate()',
    script: IN_WORKER(
      "work(path); require('node:worker_threads').parentPort.postMessage('ready'); setInterval(() => {}, 1000);",
      // The lock went with the worker: this thread can take it at once (without recovering the pool).
      "w.on('message', () => w.terminate()); w.on('exit', () => { const d = Device.open(process.argv[1]); console.log(d.lock('exclusive')); d.close(); });",
    ),
    keeps: 'committed',
    status: 0,
    stdout: 'true\n',
  },
  {
    name: 'SIGTERM with no handler',
    script: "work(path); process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000);",
    keeps: 'committed',
    status: null,
    signal: 'SIGTERM',
  },
  {
    name: 'SIGTERM with the recommended handler',
    script: "process.once('SIGTERM', () => process.exit(143)); work(path); process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000);",
    keeps: 'all',
    status: 143,
  },
  {
    name: 'SIGKILL',
    script: "work(path); process.kill(process.pid, 'SIGKILL'); setInterval(() => {}, 1000);",
    keeps: 'committed',
    status: null,
    signal: 'SIGKILL',
  },
];

function bytes(...runs: [number, number][]): Buffer {
  return Buffer.concat(runs.map(([n, byte]) => Buffer.alloc(n, byte)));
}

function read(pool: Pool, name: string): Buffer {
  const f = pool.open(name, { readonly: true });
  try {
    const buf = Buffer.alloc(f.stat().size);
    f.readSync(buf, 0);
    return buf;
  } finally {
    f.close();
  }
}

describe('what survives which end of the process (docs/api.md)', () => {
  const s = scratchPerTest('/dev/shm');

  it.each(ENDS)('$name: keeps $keeps', (end) => {
    const path = s.file('pool');
    const r = runNode(`${WORK}\nconst path = process.argv[1];\n${end.script}`, [path]);
    expect(r.signal).toBe(end.signal ?? null);
    expect(r.status).toBe(end.status);
    if (end.keeps === 'all') expect(r.stderr).toBe('');
    if (end.stdout !== undefined) expect(r.stdout).toBe(end.stdout);

    // Opening for writing succeeds: no lock outlives the process or the worker.
    const pool = Pool.open(path);
    try {
      const clean = end.keeps === 'all';
      expect(pool.info.unsafeShutdown.dirty).toBe(!clean);
      if (clean) expect(pool.info.recovery.replayed).toBe(0);
      const report = pool.check();
      expect(report.problems).toEqual([]);
      expect([...pool.list()]).toEqual(['a', 'b']);
      if (clean) {
        expect(read(pool, 'a').equals(bytes([5000, 0x42], [5000, 0x41], [20000, 0x43]))).toBe(true);
        expect(read(pool, 'b').equals(bytes([3000, 0x44]))).toBe(true);
      } else {
        // The last commit: the fsynced size, with the overwrite of its blocks (data is durable on return).
        expect(read(pool, 'a').equals(bytes([5000, 0x42], [5000, 0x41]))).toBe(true);
        expect(pool.stat('b').size).toBe(0);
      }
    } finally {
      pool.closeSync();
    }
  });

  it('one exit listener serves every open pool, and none is left once they are closed', () => {
    const count = () => ({ exit: process.listenerCount('exit'), monitor: process.listenerCount('uncaughtExceptionMonitor') });
    Pool.create(s.file('read'), { size: 1 << 20 }).closeSync();
    const before = count();
    // A read-only pool has nothing to commit: the end of the process releases its lock.
    const reader = Pool.open(s.file('read'), { readonly: true });
    expect(count()).toEqual(before);
    const one = Pool.create(s.file('one'), { size: 1 << 20 });
    const two = Pool.create(s.file('two'), { size: 1 << 20 });
    expect(count()).toEqual({ exit: before.exit + 1, monitor: before.monitor + 1 });
    one.closeSync();
    expect(count()).toEqual({ exit: before.exit + 1, monitor: before.monitor + 1 });
    two.closeSync();
    expect(count()).toEqual(before);
    reader.closeSync();
  });

  it('a pool closed before the end is left as close left it, and later pools are still committed', () => {
    const path = s.file('pool');
    const second = s.file('second');
    const r = runNode(`${WORK}
      work(process.argv[1]).close();
      const p = work(process.argv[2]);
      p.close();
      work(process.argv[1] + '.third');`, [path, second]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const p of [path, second, `${path}.third`]) {
      using pool = Pool.open(p);
      expect(pool.info.unsafeShutdown.dirty).toBe(false);
      expect(pool.stat('a').size).toBe(30000);
      expect(pool.check().problems).toEqual([]);
    }
  });

  it('an uncaught exception handled by the program spares the pools opened after it', () => {
    const path = s.file('pool');
    const r = runNode(`${WORK}
      process.on('uncaughtException', () => { work(process.argv[1] + '.after'); });
      work(process.argv[1]);
      setTimeout(() => { throw new Error('boom'); });`, [path]);
    expect(r.status).toBe(0);
    {
      using before = Pool.open(path);
      expect(before.info.unsafeShutdown.dirty).toBe(true);
      expect(before.stat('a').size).toBe(10000);
    }
    using after = Pool.open(`${path}.after`);
    expect(after.info.unsafeShutdown.dirty).toBe(false);
    expect(after.stat('a').size).toBe(30000);
  });
});
