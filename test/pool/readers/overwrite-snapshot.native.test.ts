import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { Device, Pool, type PoolFile } from '../../../lib';
import { Claims } from '../../../lib/pool/claims';
import { PROJECT_ROOT } from '../../support/scratch';
import { poolPerTest } from './support';

// Data written in place (docs/design.md, "Data written in place"): while a reader holds a snapshot, the writer
// copies on write every block committed before, so the snapshot shows each file as of its point whatever the
// writer overwrites, zeroes or punches; with no reader at all the writer writes in place as before.

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 256 * KiB;
// Room for the writer process below to copy on write beside a reader that lags (while it opens, its claim reaches
// every block freed since the last checkpoint): at 32 MiB a sanitizer run's writer ran out of space (ENOSPC, as
// documented), and the readers went on against a pool no one wrote.
const pool = poolPerTest({ size: 256 * MiB, journalBytes: 1 * MiB });

function content(f: PoolFile): Buffer {
  const b = Buffer.alloc(f.size);
  f.readSync(b, 0);
  return b;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Change = (f: PoolFile) => Promise<unknown>;
const CHANGES: [string, Change][] = [
  ['a synchronous overwrite', async (f) => f.writeSync(Buffer.alloc(SIZE, 0x22), 0)],
  ['a partial overwrite inside a block', async (f) => f.writeSync(Buffer.alloc(100, 0x22), 5000)],
  ['a promise overwrite', (f) => f.write(Buffer.alloc(SIZE, 0x22), 0)],
  ['promise overwrites in flight together', (f) => Promise.all([0, 1, 2, 3].map((i) => f.write(Buffer.alloc(SIZE / 4, 0x22 + i), (i * SIZE) / 4)))],
  ['a zero range', (f) => f.fallocate('zero-range', 4096, 64 * KiB)],
  ['a zero range inside a block', (f) => f.fallocate('zero-range', 4100, 100)],
  ['a punch inside a block', (f) => f.fallocate('punch-hole', 8200, 300)],
  ['an append over the last block', async (f) => f.appendSync(Buffer.alloc(10, 0x22))],
];

for (const sync of [true, false]) {
  for (const [what, change] of CHANGES) {
    it(`a reader’s snapshot does not see ${what} (${sync ? 'sync' : 'non-sync'} handle); a refresh does`, async () => {
      const w = Pool.open(pool.path);
      const f = w.open('a', { create: true, sync });
      f.writeSync(Buffer.alloc(SIZE - 7, 0x11), 0);
      await f.fsync();
      const r = Pool.open(pool.path, { readonly: true });
      const before = r.open('a', { readonly: true });
      const old = content(before);
      await change(f);
      await f.fsync();
      const now = content(f);
      expect(now.equals(old), 'the change changed nothing').toBe(false);
      expect(content(before).equals(old)).toBe(true);
      await before.close();
      // A file opened on the same snapshot shows it too.
      const again = r.open('a', { readonly: true });
      expect(content(again).equals(old)).toBe(true);
      await again.close();
      r.refresh();
      const after = r.open('a', { readonly: true });
      expect(content(after).equals(now)).toBe(true);
      await after.close();
      r.closeSync();
      await f.close();
      w.closeSync();
    });
  }
}

it('with no reader the writer overwrites in place (same blocks); with one it copies; once it left, in place again', async () => {
  const w = Pool.open(pool.path);
  const f = w.open('a', { create: true, sync: true });
  f.writeSync(Buffer.alloc(SIZE, 1), 0);
  const first = f.fiemap()[0]?.physical;
  f.writeSync(Buffer.alloc(SIZE, 2), 0);
  expect(f.fiemap()[0]?.physical).toBe(first);
  const r = Pool.open(pool.path, { readonly: true });
  f.writeSync(Buffer.alloc(SIZE, 3), 0);
  const copied = f.fiemap()[0]?.physical;
  expect(copied).not.toBe(first);
  // Blocks written since the last commit began are no reader's: a second overwrite before a commit stays put
  // (a sync handle commits each write, so this one is a new copy again, not the first blocks).
  f.writeSync(Buffer.alloc(SIZE, 4), 0);
  expect(f.fiemap()[0]?.physical).not.toBe(copied);
  r.closeSync();
  await sleep(10);
  const placed = f.fiemap()[0]?.physical;
  f.writeSync(Buffer.alloc(SIZE, 5), 0);
  expect(f.fiemap()[0]?.physical).toBe(placed);
  f.close();
  w.closeSync();
});

it('appends and writes past EOF go in place beside a reader, and promise appends on a handle that is not sync commit nothing', async () => {
  const w = Pool.open(pool.path);
  const f = w.open('log', { create: true });
  f.writeSync(Buffer.alloc(100, 1), 0);
  await f.fsync();
  const r = Pool.open(pool.path, { readonly: true });
  const tail = f.fiemap()[0]?.physical;
  const before = w.stats().commits;
  for (let i = 0; i < 50; i++) await f.append(Buffer.alloc(50, 2));
  f.appendSync(Buffer.alloc(50, 3));
  f.writeSync(Buffer.alloc(10, 4), f.size + 100);
  expect(w.stats().commits).toBe(before);
  expect(f.fiemap()[0]?.physical).toBe(tail);
  const g = r.open('log', { readonly: true });
  expect(g.size).toBe(100);
  expect(content(g).equals(Buffer.alloc(100, 1))).toBe(true);
  await g.close();
  r.closeSync();
  await f.close();
  w.closeSync();
});

it('beside a reader, reads and fiemap of the writer report blocks as they are (not shared) and take no lock', () => {
  const w = Pool.open(pool.path);
  const f = w.open('a', { create: true, sync: true });
  f.writeSync(Buffer.alloc(SIZE, 1), 0);
  const r = Pool.open(pool.path, { readonly: true });
  const [extent] = f.fiemap();
  expect(extent?.flags).toBe(1);
  const b = Buffer.alloc(SIZE);
  f.readSync(b, 0);
  // Nothing the writer did since the reader opened took the in-place lock back.
  const probe = Device.open(pool.path, { readonly: true });
  expect(new Claims(probe, 16).inPlaceBusy()).toBe(false);
  probe.close();
  r.closeSync();
  f.close();
  w.closeSync();
});

it('a reader opening on the writer’s thread while promise overwrites are in flight sees each whole, and nothing after', async () => {
  const w = Pool.open(pool.path);
  const f = w.open('a', { create: true });
  f.writeSync(Buffer.alloc(4 * SIZE, 0x10), 0);
  await f.fsync();
  // Let the writer start writing in place (no reader yet), then open a reader with writes handed to jobs.
  await f.write(Buffer.alloc(SIZE, 0x10), 0);
  const inFlight = [0, 1, 2, 3].map((i) => f.write(Buffer.alloc(SIZE, 0x20 + i), i * SIZE));
  const r = Pool.open(pool.path, { readonly: true });
  const g = r.open('a', { readonly: true });
  const seen = content(g);
  for (let i = 0; i < 4; i++) {
    const part = seen.subarray(i * SIZE, (i + 1) * SIZE);
    expect(part.every((x) => x === part[0]) && (part[0] === 0x10 || part[0] === 0x20 + i), `part ${i}`).toBe(true);
  }
  await Promise.all(inFlight);
  await Promise.all([0, 1, 2, 3].map((i) => f.write(Buffer.alloc(SIZE, 0x30 + i), i * SIZE)));
  expect(content(g).equals(seen)).toBe(true);
  await g.close();
  r.closeSync();
  await f.close();
  w.closeSync();
});

// With membarrier the writer says WRITING by a plain store and the watch makes the barrier; without (a kernel that
// lacks it, PMEMDAX_NO_MEMBARRIER), the writer fences the store itself.
for (const fenced of [false, true]) it(`readers in other processes: each snapshot holds still while a writer process overwrites its files in place without pause${fenced ? ' (no membarrier)' : ''}`, async () => {
  // The writer overwrites two files with one generation byte each round, 'a' before 'b': a snapshot shows each
  // file whole with one byte, b's generation a's or the one before (1 before the first round's 2, 250 before a
  // wrapped 2), and the same bytes read again later.
  const writer = spawn(process.execPath, ['-e', `
    const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
    const p = Pool.open(process.argv[1]);
    const a = p.open('a', { create: true, sync: true });
    const b = p.open('b', { create: true, sync: true });
    a.writeSync(Buffer.alloc(${SIZE}, 1), 0);
    b.writeSync(Buffer.alloc(${SIZE}, 1), 0);
    console.log('ready');
    (async () => {
      for (let g = 2; ; g = g === 250 ? 2 : g + 1) {
        if (g % 2 === 0) { a.writeSync(Buffer.alloc(${SIZE}, g), 0); b.writeSync(Buffer.alloc(${SIZE}, g), 0); }
        else { await a.write(Buffer.alloc(${SIZE}, g), 0); await b.write(Buffer.alloc(${SIZE}, g), 0); }
      }
    })();
  `, pool.path], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PMEMDAX_NO_MEMBARRIER: fenced ? '1' : '' } });
  try {
    await new Promise<void>((resolve, reject) => {
      writer.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve();
      });
      writer.on('exit', (code) => reject(new Error(`writer exited (${code})`)));
    });
    let snapshots = 0;
    for (const until = Date.now() + 3000; Date.now() < until; ) {
      const r = Pool.open(pool.path, { readonly: true });
      try {
        for (let k = 0; k < 3; k++) {
          const fa = r.open('a', { readonly: true });
          const fb = r.open('b', { readonly: true });
          const a = content(fa);
          const b = content(fb);
          const ga = a[0] as number;
          const gb = b[0] as number;
          expect(a.every((x) => x === ga), 'a whole').toBe(true);
          expect(b.every((x) => x === gb), 'b whole').toBe(true);
          expect(gb === ga || gb === ga - 1 || (ga === 2 && gb === 250), `a ${ga}, b ${gb}`).toBe(true);
          await sleep(2);
          expect(content(fa).equals(a), 'a held still').toBe(true);
          expect(content(fb).equals(b), 'b held still').toBe(true);
          await fa.close();
          await fb.close();
          snapshots++;
          r.refresh();
        }
      } finally {
        r.closeSync();
      }
    }
    expect(snapshots).toBeGreaterThan(30);
  } finally {
    writer.kill('SIGKILL');
  }
}, 30_000);
