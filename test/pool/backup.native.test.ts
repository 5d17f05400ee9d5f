import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Pool, type BackupReport } from '../../lib';
import { claimsLeft } from './support/claims-left';
import { PROJECT_ROOT, scratchDir } from '../support/scratch';

// Online backup (docs/design.md, "Live readers"): Pool.backup / pool.backup copy the newest committed state
// of a pool, beside a writer in this process or another, into a new file that is a pool of its own.

const DIST = `${PROJECT_ROOT}/dist/index.js`;
const FIXTURE = `${PROJECT_ROOT}/test/pool/fixtures/live-window.cjs`;
const { violation } = createRequire(__filename)(FIXTURE) as { violation: (pool: Pool) => string | null };
const KiB = 1024;
const MiB = 1024 * KiB;

/** Every file of `p` by name, with its bytes. */
function contents(p: Pool): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of p.list()) {
    const f = p.open(name, { readonly: true });
    const b = Buffer.alloc(f.stat().size);
    f.readSync(b, 0);
    f.close();
    out.set(name, b);
  }
  return out;
}

function withPool<T>(path: string, use: (p: Pool) => T): T {
  const p = Pool.open(path, { readonly: true });
  try {
    return use(p);
  } finally {
    p.closeSync();
  }
}

describe('online backup', () => {
  let s: ReturnType<typeof scratchDir>;
  let path: string;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    path = s.file('pool');
    Pool.create(path, { size: 16 * MiB, journalBytes: 64 * KiB }).closeSync();
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    s.cleanup();
  });

  it('copies a closed pool: same files and bytes, same identity, checks clean, writable, sparse where blocks are free', async () => {
    const w = Pool.open(path);
    for (let i = 0; i < 30; i++) {
      const f = w.open(`f${i}`, { create: true });
      f.writeSync(Buffer.alloc(3000 + i * 4000, i + 1), 0);
      f.close();
    }
    w.unlink('f4');
    const f9 = w.open('f9');
    await f9.truncate(100);
    await f9.close();
    const want = contents(w);
    const uuid = w.info.uuid;
    w.closeSync();
    const seen: number[] = [];
    const r = await Pool.backup(path, s.file('copy'), { progress: (done, total) => seen.push(done, total) });
    expect(r.path).toBe(s.file('copy'));
    expect(seen.length).toBeGreaterThan(2);
    expect(seen[seen.length - 2]).toBe(r.bytes);
    expect(seen[seen.length - 1]).toBe(r.bytes);
    expect(Pool.check(s.file('copy')).problems).toEqual([]);
    withPool(s.file('copy'), (c) => {
      expect(contents(c)).toEqual(want);
      expect(c.info.uuid).toBe(uuid);
    });
    expect(statSync(s.file('copy')).size).toBe(16 * MiB);
    expect(statSync(s.file('copy')).blocks * 512).toBeLessThan(4 * MiB);
    const again = Pool.open(s.file('copy'));
    again.open('new', { create: true }).close();
    again.closeSync();
    expect(Pool.check(s.file('copy')).problems).toEqual([]);
  });

  it('from the writer with calls in flight: each copy is a committed state (every file in it empty or whole)', async () => {
    const w = Pool.open(path);
    try {
      const make = async (i: number): Promise<void> => {
        const f = await w.openAsync(`f${String(i).padStart(3, '0')}`, { create: true });
        await f.write(Buffer.alloc(20 * KiB, (i % 250) + 1), 0);
        await f.fsync();
        await f.close();
      };
      const made: Promise<void>[] = [];
      const backups: Promise<BackupReport>[] = [];
      for (let i = 0; i < 60; i++) {
        made.push(make(i));
        if (i % 20 === 10) backups.push(w.backup(s.file(`copy${i}`)));
      }
      await Promise.all(made);
      for (const b of await Promise.all(backups)) {
        expect(Pool.check(b.path).problems).toEqual([]);
        withPool(b.path, (c) => {
          for (const [name, bytes] of contents(c)) {
            const i = Number(name.slice(1));
            expect(bytes.length === 0 || bytes.equals(Buffer.alloc(20 * KiB, (i % 250) + 1)), name).toBe(true);
          }
        });
      }
    } finally {
      w.closeSync();
    }
  });

  it('20 rounds beside a writer in another process, from this process and from a reader: each copy checks clean and is a state of its history', async () => {
    // Room for what the writer frees while the reader and each backup hold their snapshots (the writer
    // replaces tens of MiB a second: a 16 MiB pool ran out).
    Pool.create(path, { size: 256 * MiB, journalBytes: 64 * KiB, force: true }).closeSync();
    const writer = spawn(process.execPath, [FIXTURE, 'writer', DIST, path], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(writer);
    await new Promise<void>((resolve, reject) => {
      writer.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve();
      });
      writer.once('exit', (code) => reject(new Error(`the writer exited with ${code}`)));
    });
    const reader = Pool.open(path, { readonly: true });
    const states = new Set<string>();
    try {
      for (let round = 0; round < 20; round++) {
        const dest = s.file(`copy${round}`);
        reader.refresh();
        if (round % 2 === 0) await Pool.backup(path, dest);
        else await reader.backup(dest);
        expect(Pool.check(dest).problems).toEqual([]);
        withPool(dest, (c) => {
          expect(violation(c)).toBeNull();
          expect(c.statfs().files).toBeGreaterThan(0);
          states.add([...c.list()].join(','));
        });
        // The copy is a pool of its own: a writer opens it.
        Pool.open(dest).closeSync();
      }
      // The writer ran throughout (a writer that died, of ENOSPC say, would leave nothing to back up beside).
      expect(writer.exitCode).toBeNull();
    } finally {
      reader.closeSync();
      const gone = new Promise((resolve) => writer.once('close', resolve));
      if (writer.kill('SIGKILL')) await gone;
    }
    // The writer went on meanwhile: the copies hold different states.
    expect(states.size).toBeGreaterThan(1);
    // No claim outlives the backups.
    expect(claimsLeft(path)).toBe(false);
  }, 120_000);

  it('a progress callback that throws ends the backup: it rejects with that error, the copy is removed, the process and the pool go on', async () => {
    const w = Pool.open(path);
    // Enough blocks for many progress calls: the first one throws, long before the copy is linked.
    const f = w.open('big', { create: true });
    f.writeSync(Buffer.alloc(8 * MiB, 9), 0);
    f.close();
    const boom = new Error('boom');
    let calls = 0;
    await expect(w.backup(s.file('copy'), { progress: () => {
      calls++;
      throw boom;
    } })).rejects.toBe(boom);
    expect(calls).toBe(1);
    // The thread gives the job up at its next slice and removes its temporary copy; a copy it had finished
    // and linked by then stays, whole.
    const temporary = (): string[] => readdirSync(s.dir).filter((n) => n.startsWith('.pmemdax-backup-'));
    for (let i = 0; i < 500 && temporary().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(temporary()).toEqual([]);
    if (readdirSync(s.dir).includes('copy')) expect(Pool.check(s.file('copy')).problems).toEqual([]);
    const r = await w.backup(s.file('again'));
    expect(r.path).toBe(s.file('again'));
    expect(Pool.check(s.file('again')).problems).toEqual([]);
    w.closeSync();
    expect(Pool.check(path).problems).toEqual([]);
  });

  it('a dest name of 255 bytes, the longest a name may be (the temporary name does not grow with it)', async () => {
    const dest = s.file('c'.repeat(255));
    await Pool.backup(path, dest);
    expect(Pool.check(dest).problems).toEqual([]);
  });

  it('refuses what it cannot do, with the error a file system gives, and leaves nothing behind', async () => {
    writeFileSync(s.file('exists'), 'keep');
    writeFileSync(s.file('notapool'), Buffer.alloc(64 * KiB));
    const cases: [string, () => Promise<unknown>, Record<string, unknown>][] = [
      ['dest exists', () => Pool.backup(path, s.file('exists')), { code: 'EEXIST', path: s.file('exists') }],
      ['dest directory missing', () => Pool.backup(path, s.file('no/such/copy')), { code: 'ENOENT', path: s.file('no/such/copy') }],
      ['source missing', () => Pool.backup(s.file('none'), s.file('c1')), { code: 'ENOENT' }],
      ['source not a pool', () => Pool.backup(s.file('notapool'), s.file('c2')), { code: 'ERR_PMEMDAX_CORRUPT' }],
      ['dest not a string', () => Pool.backup(path, 7 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE' }],
      ['dest empty', () => Pool.backup(path, ''), { code: 'ERR_INVALID_ARG_VALUE' }],
      ['dest with NUL', () => Pool.backup(path, s.file('a\0b')), { code: 'ERR_INVALID_ARG_VALUE' }],
      ['options null', () => Pool.backup(path, s.file('c3'), null as unknown as object), { code: 'ERR_INVALID_ARG_TYPE' }],
      ['progress not a function', () => Pool.backup(path, s.file('c4'), { progress: 1 as unknown as () => void }), { code: 'ERR_INVALID_ARG_TYPE' }],
    ];
    for (const [what, call, want] of cases) {
      await expect(call(), what).rejects.toMatchObject(want);
    }
    const p = Pool.open(path);
    p.closeSync();
    await expect(p.backup(s.file('c5'))).rejects.toMatchObject({ code: 'ERR_PMEMDAX_CLOSED' });
    expect(readdirSync(s.dir).sort()).toEqual(['exists', 'notapool', 'pool']);
    expect(Pool.check(path).problems).toEqual([]);
  });
});
