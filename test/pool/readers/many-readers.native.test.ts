import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Device, Pool } from '../../../lib';
import { Claims } from '../../../lib/pool/claims';
import { PROJECT_ROOT, scratchDir } from '../../support/scratch';

// Claims have no table and so no slot limit: 130 reader processes (the issue asks for at least 126) hold
// snapshots of one pool at once while its writer goes on, and every claim goes with its process.

const READERS = 130;
const KiB = 1024;
const MiB = 1024 * KiB;

let s: ReturnType<typeof scratchDir>;
let path: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  s = scratchDir('/dev/shm');
  path = s.file('pool');
  const w = Pool.create(path, { size: 32 * MiB, journalBytes: 64 * KiB });
  const f = w.open('a', { create: true, sync: true });
  f.writeSync(Buffer.alloc(64 * KiB, 0xa1), 0);
  f.close();
  w.closeSync();
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  s.cleanup();
});

it(`${READERS} reader processes hold snapshots at once beside the writer, and let them go when killed`, async () => {
  const w = Pool.open(path);
  try {
    const script = `
      const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
      const p = Pool.open(process.argv[1], { readonly: true, lockTimeout: 10000 });
      const f = p.open('a', { readonly: true });
      const b = Buffer.alloc(65536);
      f.readSync(b, 0);
      console.log(b.every((x) => x === 0xa1) ? 'ready' : 'wrong');
      process.stdin.resume();`;
    // In batches, so that a machine of two CPUs starts them in reasonable time.
    const answers: string[] = [];
    for (let i = 0; i < READERS; i += 10) {
      const batch = Array.from({ length: Math.min(10, READERS - i) }, () => {
        const c = spawn(process.execPath, ['-e', script, '--', path], { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
        children.push(c);
        return new Promise<string>((resolve, reject) => {
          c.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
          c.once('exit', (code) => reject(new Error(`a reader exited (${code})`)));
        });
      });
      answers.push(...(await Promise.all(batch)));
      // The writer goes on between batches: later readers hold later snapshots.
      const g = w.open(`g${i}`, { create: true, sync: true });
      g.writeSync(Buffer.alloc(4 * KiB, i & 0xff), 0);
      g.close();
    }
    expect(answers.filter((a) => a === 'ready').length).toBe(READERS);
    // The file every reader has open: unlinked, its blocks stay the readers' while the writer fills the pool.
    w.unlink('a');
    const fill = w.open('fill', { create: true, sync: true });
    try {
      for (;;) fill.appendSync(Buffer.alloc(64 * KiB, 0x5e));
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ENOSPC');
    }
    fill.close();
    const probe = Device.open(path, { readonly: true });
    try {
      const claims = new Claims(probe, 16);
      expect(claims.oldest()).not.toBeNull();
      await Promise.all(children.splice(0).map((c) => new Promise((resolve) => {
        c.once('exit', resolve);
        c.kill('SIGKILL');
      })));
      expect(claims.anyBefore()).toBe(false);
    } finally {
      probe.close();
    }
  } finally {
    w.closeSync();
  }
  expect(Pool.check(path).problems).toEqual([]);
}, 180_000);
