import { spawn, type ChildProcess } from 'node:child_process';
import { renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device, Pool, type PoolFile } from '../../lib';
import { claimsLeft } from './support/claims-left';
import { Prng, seedFrom } from '../dax/support/prng';
import { PROJECT_ROOT, runNode, scratchDir } from '../support/scratch';

// Readers beside the writer (docs/design.md, "Live readers"): read-only opens of a pool a writer holds,
// each a snapshot of a committed state until it refreshes, in this process and in others, with readers and
// writers killed at random moments.

const DIST = `${PROJECT_ROOT}/dist/index.js`;
const FIXTURE = `${PROJECT_ROOT}/test/pool/fixtures/live-window.cjs`;
const { violation } = createRequire(__filename)(FIXTURE) as { violation: (pool: Pool) => string | null };
const KiB = 1024;
const MiB = 1024 * KiB;
const SEED = seedFrom('PMEMDAX_LIVE_SEED');

function write(p: Pool, name: string, byte: number, size = 64 * KiB): void {
  const f = p.open(name, { create: true, sync: true });
  f.writeSync(Buffer.alloc(size, byte), 0);
  f.close();
}

function content(f: PoolFile): Buffer {
  const b = Buffer.alloc(f.stat().size);
  f.readSync(b, 0);
  return b;
}

describe('readers beside the writer', () => {
  let s: ReturnType<typeof scratchDir>;
  let path: string;
  const children: ChildProcess[] = [];
  const pools: Pool[] = [];
  const track = (p: Pool): Pool => {
    pools.push(p);
    return p;
  };
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    path = s.file('pool');
    Pool.create(path, { size: 16 * MiB, journalBytes: 64 * KiB }).closeSync();
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const p of pools.splice(0)) p.closeSync();
    s.cleanup();
  });

  it('a reader opens while a writer holds the pool, sees the state of its open until it refreshes, then the newest', () => {
    const w = track(Pool.open(path));
    write(w, 'a', 1);
    const r = track(Pool.open(path, { readonly: true }));
    expect([...r.list()]).toEqual(['a']);
    write(w, 'b', 2);
    w.unlink('a');
    expect([...r.list()]).toEqual(['a']);
    expect(r.exists('b')).toBe(false);
    expect(content(r.open('a', { readonly: true })).equals(Buffer.alloc(64 * KiB, 1))).toBe(true);
    r.refresh();
    expect([...r.list()]).toEqual(['b']);
    expect(content(r.open('b', { readonly: true })).equals(Buffer.alloc(64 * KiB, 2))).toBe(true);
    // A reader writes nothing.
    expect(() => r.open('c', { create: true })).toThrow(expect.objectContaining({ code: 'EROFS', path: `${path}:c` }));
    expect(() => r.open('b')).toThrow(expect.objectContaining({ code: 'EROFS', path: `${path}:b` }));
    expect(() => r.unlink('b')).toThrow(expect.objectContaining({ code: 'EROFS' }));
  });

  it("a reader's check() beside the writer checks the newest committed state: clean after the writer's changes, checkpoints and grow, refreshed or not", () => {
    const w = track(Pool.open(path));
    for (let i = 0; i < 20; i++) write(w, `f${i}`, i, 100);
    const r = track(Pool.open(path, { readonly: true }));
    const held = r.open('f3', { readonly: true });
    expect(r.check().problems).toEqual([]);
    w.unlink('f3');
    const a = w.open('f5');
    a.appendSync(Buffer.alloc(5000, 5));
    void a.close();
    w.sync();
    expect(r.check().problems).toEqual([]);
    // Many records past a 64 KiB journal: checkpoints the reader's snapshot has not followed.
    for (let i = 0; i < 2000; i++) {
      const f = w.open(`g${i % 50}`, { create: true });
      f.appendSync(Buffer.alloc(64, 1));
      void f.close();
    }
    expect(r.check().problems).toEqual([]);
    w.grow(32 * MiB);
    const report = r.check();
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    // Its snapshot is untouched by the check.
    expect(content(held).equals(Buffer.alloc(100, 3))).toBe(true);
    void held.close();
  });

  it("a reader's check() goes through its own open: on a Device the caller opened, and after the pool file was renamed", () => {
    const dev = Device.open(path);
    const r = Pool.openOn(dev, { readonly: true });
    expect(r.check().problems).toEqual([]);
    r.closeSync();
    dev.close();
    const r2 = track(Pool.open(path, { readonly: true }));
    renameSync(path, `${path}.moved`);
    expect(r2.check().problems).toEqual([]);
    renameSync(`${path}.moved`, path);
  });

  it('a refresh follows the writer across checkpoints; a second writer is still refused', () => {
    const w = track(Pool.open(path));
    const r = track(Pool.open(path, { readonly: true }));
    // Far more records than a 64 KiB journal holds: several checkpoints.
    for (let i = 0; i < 3000; i++) w.open(`n${i}`, { create: true }).close();
    expect(r.statfs().files).toBe(0);
    r.refresh();
    expect(r.statfs().files).toBe(3000);
    expect(r.exists('n2999')).toBe(true);
    expect(() => Pool.open(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
    const r2 = track(Pool.open(path, { readonly: true }));
    expect(r2.statfs().files).toBe(3000);
  });

  it('a file a reader holds open keeps its snapshot’s bytes after the writer unlinked it, checkpointed and filled the pool', () => {
    const w = track(Pool.open(path));
    write(w, 'a', 0xa1, 2 * MiB);
    const r = track(Pool.open(path, { readonly: true }));
    const fa = r.open('a', { readonly: true });
    w.unlink('a');
    // Checkpoints (their tree pages retired and taken again), then a full pool: the blocks of 'a' would be reused first.
    for (let i = 0; i < 2000; i++) w.open(`n${i}`, { create: true }).close();
    const f = w.open('fill', { create: true, sync: true });
    const chunk = Buffer.alloc(64 * KiB, 0xf1);
    for (;;) {
      try {
        f.appendSync(chunk);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('ENOSPC');
        break;
      }
    }
    expect(content(fa).equals(Buffer.alloc(2 * MiB, 0xa1))).toBe(true);
    // A refresh moves the pool to the newest state; the file opened before keeps reading its own.
    r.refresh();
    expect(r.exists('a')).toBe(false);
    expect(content(fa).equals(Buffer.alloc(2 * MiB, 0xa1))).toBe(true);
    // Its last close lets the old snapshot go: the writer takes those blocks.
    fa.close();
    const before = f.stat().size;
    for (;;) {
      try {
        f.appendSync(chunk);
      } catch {
        break;
      }
    }
    expect(f.stat().size - before).toBeGreaterThanOrEqual(2 * MiB - 256 * KiB);
    f.close();
  });

  it('a read-only region in a reader shows its snapshot’s bytes after the writer unlinked the file and filled the pool', async () => {
    const w = track(Pool.open(path));
    write(w, 'm', 0x77, 2 * MiB);
    const r = track(Pool.open(path, { readonly: true }));
    const rf = r.open('m', { readonly: true });
    const region = rf.mmap({ length: 2 * MiB, write: false });
    await region.populate(undefined, 'read');
    w.unlink('m');
    const f = w.open('fill', { create: true, sync: true });
    try {
      for (;;) f.appendSync(Buffer.alloc(64 * KiB, 0x99));
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ENOSPC');
    }
    expect(region.bytes.every((x) => x === 0x77)).toBe(true);
    region.unmap();
    rf.close();
    f.close();
  });

  it('a reader goes on reading its snapshot after the writer is killed, and refreshes to what the next writer recovered', () => {
    const r = track(Pool.open(path, { readonly: true }));
    const run = runNode(`
      const { Pool } = require(${JSON.stringify(DIST)});
      const p = Pool.open(process.argv[1]);
      for (let i = 0; i < 50; i++) { const f = p.open('k' + i, { create: true, sync: true }); f.writeSync(Buffer.alloc(8192, i + 1), 0); f.close(); }
      process.kill(process.pid, 'SIGKILL');`, [path]);
    expect(run.signal).toBe('SIGKILL');
    expect(r.statfs().files).toBe(0);
    r.refresh();
    expect(r.statfs().files).toBe(50);
    const w = track(Pool.open(path));
    expect(w.info.recovery.replayed).toBeGreaterThan(0);
    for (let i = 0; i < 50; i++) w.unlink(`k${i}`);
    write(w, 'after', 9, 1 * MiB);
    const f = r.open('k7', { readonly: true });
    expect(content(f).equals(Buffer.alloc(8192, 8))).toBe(true);
    r.refresh();
    expect([...r.list()]).toEqual(['after']);
    expect(content(f).equals(Buffer.alloc(8192, 8))).toBe(true);
  });

  it('a grow, an upgrade or a format over the pool is refused while a reader holds a snapshot', () => {
    const r = track(Pool.open(path, { readonly: true }));
    expect(() => Pool.grow(path, 32 * MiB)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
    expect(() => Pool.upgrade(path)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
    expect(() => Pool.create(path, { force: true })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_POOL_LOCKED' }));
    r.closeSync();
    pools.splice(0);
    Pool.grow(path, 32 * MiB);
    expect(Pool.open(path, { readonly: true }).info.size).toBe(32 * MiB);
  });

  it(`readers in other processes check every snapshot against the writer’s history while readers and writers are killed (PMEMDAX_LIVE_SEED=${SEED})`, async () => {
    const rng = new Prng(SEED);
    const problems: string[] = [];
    let kills = 0;
    let writerKills = 0;
    const closed = new WeakMap<ChildProcess, Promise<void>>();
    const start = (args: string[]): ChildProcess => {
      const c = spawn(process.execPath, [FIXTURE, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(c);
      let out = '';
      c.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        for (const line of lines) if (line.startsWith('VIOLATION')) problems.push(`${args[0]} ${c.pid}: ${line}`);
      });
      // Judged whole once the child's streams close: an uncaught error comes in several writes (the error,
      // then Node's version line), which a busy machine hands over as several chunks.
      let err = '';
      c.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      closed.set(c, new Promise((resolve) => c.once('close', () => {
        if (err !== '' && !/ERR_PMEMDAX_POOL_LOCKED/.test(err)) problems.push(`${args[0]} ${c.pid}: stderr: ${err}`);
        resolve();
      })));
      return c;
    };
    const kill = async (c: ChildProcess): Promise<void> => {
      // A child that ended on its own (an uncaught error: its stderr is a problem already) is not signalled.
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await closed.get(c);
      children.splice(children.indexOf(c), 1);
    };
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    // Kills are timed from a child's `ready` (a writer's first file made, a reader's first snapshot checked):
    // from its start, a slow machine (the sanitizer's build) kills most children before they do anything.
    const ready = (c: ChildProcess): Promise<void> => new Promise((resolve) => {
      let text = '';
      const said = (d: Buffer): void => {
        text += d.toString();
        if (text.split('\n').includes('ready')) done();
      };
      const done = (): void => {
        clearTimeout(late);
        c.stdout?.off('data', said);
        c.off('exit', done);
        resolve();
      };
      // A child that neither says it nor exits is stuck: a problem to report, not a test to hang.
      const late = setTimeout(() => {
        problems.push(`${c.spawnargs.slice(2, 3).join(' ')} ${c.pid} not ready after 20 s`);
        done();
      }, 20_000);
      c.stdout?.on('data', said);
      c.once('exit', done);
    });
    let writer = start(['writer', DIST, path]);
    await ready(writer);
    const readerSlot = async (slot: number): Promise<void> => {
      while (kills < 200 && problems.length === 0) {
        const c = start(['reader', DIST, path, String(rng.int(2 ** 31) + slot)]);
        // Half the kills land in a reader's open (its claim being taken), half in its reading.
        if (rng.int(2) === 0) await ready(c);
        await sleep(50 + rng.int(300));
        await kill(c);
        kills++;
      }
    };
    const writerSlot = async (): Promise<void> => {
      while (kills < 200 && problems.length === 0) {
        await sleep(300 + rng.int(700));
        await kill(writer);
        writerKills++;
        kills++;
        writer = start(['writer', DIST, path]);
        await ready(writer);
      }
    };
    await Promise.all([readerSlot(0), readerSlot(1), readerSlot(2), writerSlot()]);
    await kill(writer);
    expect(problems, problems.join('\n')).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(200);
    expect(writerKills).toBeGreaterThan(5);
    // No claim outlives its reader; the pool recovers and checks clean, and holds a state of the history.
    expect(claimsLeft(path)).toBe(false);
    const w = Pool.open(path);
    expect(violation(w)).toBeNull();
    expect(w.statfs().files).toBeGreaterThan(0);
    w.closeSync();
    expect(Pool.check(path).problems).toEqual([]);
  }, 180_000);
});
