import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../../lib';
import { PROJECT_ROOT } from '../../support/scratch';
import { poolPerTest } from './support';

// A writer that wrote in place (no reader then) and whose thread then stays busy: a reader's open waits for the
// writer's in-place stores, which the device's watch sees made (native/in_place_watch.h), not for the thread.

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 64 * KiB;
/** How long the writer's thread stays busy: far longer than a reader's open takes. */
const BUSY_MS = 6000;
const pool = poolPerTest({ size: 32 * MiB, journalBytes: 1 * MiB });

function content(f: PoolFile): Buffer {
  const b = Buffer.alloc(f.size);
  f.readSync(b, 0);
  return b;
}

/**
 * How the writer overwrites its file in place before its thread goes busy; the last field, when true, runs it
 * with PMEMDAX_NO_MEMBARRIER (its "I am writing" fenced by itself rather than ordered by the watch's barrier).
 */
const WRITES: [string, string, boolean][] = [
  ['synchronous writes', 'for (let i = 0; i < 200; i++) f.writeSync(Buffer.alloc(SIZE, 2), 0);', false],
  ['synchronous writes, the writer without membarrier', 'for (let i = 0; i < 200; i++) f.writeSync(Buffer.alloc(SIZE, 2), 0);', true],
  ['promise writes (stores handed to jobs), awaited', 'for (let i = 0; i < 200; i++) await f.write(Buffer.alloc(SIZE, 2), 0);', false],
  ['a promise write it did not await (its stores handed to a job as the thread goes busy)', 'for (let i = 0; i < 20; i++) await f.write(Buffer.alloc(SIZE, 2), 0); globalThis.pending = f.write(Buffer.alloc(SIZE, 2), 0); await null;', false],
  ['a zero range and writes over it', 'await f.fallocate("zero-range", 0, SIZE); for (let i = 0; i < 20; i++) f.writeSync(Buffer.alloc(SIZE, 2), 0);', false],
];

it.each(WRITES)('a reader opens while the writer thread is busy right after %s, and its snapshot holds still when the writer goes on', async (_what, overwrite, fenced) => {
  const writer = spawn(
    process.execPath,
    [
      '-e',
      `
    const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
    const SIZE = ${SIZE};
    (async () => {
      const p = Pool.open(process.argv[1]);
      const f = p.open('a', { create: true, sync: true });
      f.writeSync(Buffer.alloc(SIZE, 1), 0);
      ${overwrite}
      console.log('busy');
      for (const end = Date.now() + ${BUSY_MS}; Date.now() < end; );
      await globalThis.pending;
      f.writeSync(Buffer.alloc(SIZE, 3), 0);
      console.log('resumed');
      setInterval(() => {}, 1000);
    })();
  `,
      pool.path,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PMEMDAX_NO_MEMBARRIER: fenced ? '1' : '' } },
  );
  let said = '';
  const heard = (word: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const look = (): void => {
        if (said.includes(word)) resolve();
      };
      writer.stdout.on('data', (d: Buffer) => {
        said += d.toString();
        look();
      });
      writer.on('exit', (code) => reject(new Error(`writer exited (${code}) before '${word}'`)));
      look();
    });
  try {
    await heard('busy');
    const t0 = Date.now();
    const r = Pool.open(pool.path, { readonly: true });
    try {
      // The open did not wait for the writer's thread (this thread hears nothing while the open runs).
      expect(Date.now() - t0).toBeLessThan(BUSY_MS / 2);
      const g = r.open('a', { readonly: true });
      const before = content(g);
      expect(before.every((x) => x === 2), 'the last committed state, whole').toBe(true);
      await heard('resumed');
      expect(content(g).equals(before), 'the snapshot held still under the write after the busy spell').toBe(true);
      await g.close();
      r.refresh();
      const g2 = r.open('a', { readonly: true });
      expect(content(g2).every((x) => x === 3), 'a refresh sees that write').toBe(true);
      await g2.close();
    } finally {
      r.closeSync();
    }
  } finally {
    writer.kill('SIGKILL');
  }
}, 30_000);
