import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device, Pool, type PoolFile } from '../../lib';
import { Claims } from '../../lib/pool/claims';
import { NO_BLOCK, decodeSuperblock, isSuperblock } from '../../lib/pool/layout';
import { PROJECT_ROOT, runNode, scratchDir } from '../support/scratch';

// The writer never hands out a block a reader's snapshot can reach (docs/design.md, "Live readers"): a
// claim held by another open -- here a bare claim on the oldest point, which every block of every past
// state is reachable from -- keeps freed blocks used until it goes, across checkpoints, closes, reopens,
// the claim holder's SIGKILL and the writer's.

const LIB = `const { Device, Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});`;
const KiB = 1024;
const MiB = 1024 * KiB;
const OLDEST = { epoch: 0, seq: 0 };
const CHUNK = Buffer.alloc(64 * KiB, 0x5a);

function blocksOf(f: PoolFile): Set<number> {
  const out = new Set<number>();
  for (const e of f.fiemap()) for (let b = e.physical / 4096; b < (e.physical + e.length) / 4096; b++) out.add(b);
  return out;
}

/** Append to `f` until the pool is full; the chunks written. */
function fill(f: PoolFile): number {
  let n = 0;
  for (;;) {
    try {
      f.appendSync(CHUNK);
      n++;
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOSPC') return n;
      throw e;
    }
  }
}

function superblock(path: string): ReturnType<typeof decodeSuperblock> {
  const d = Device.open(path, { readonly: true });
  try {
    return decodeSuperblock(new Uint8Array(d.readSafe(0, 4096)));
  } finally {
    d.close();
  }
}

describe('frees wait for readers’ claims', () => {
  let s: ReturnType<typeof scratchDir>;
  let path: string;
  const devices: Device[] = [];
  const children: ChildProcess[] = [];
  /** A claim on the oldest point, held by an open of the pool file of its own. */
  const claim = (): { device: Device; claims: Claims } => {
    const device = Device.open(path, { readonly: true });
    devices.push(device);
    const claims = new Claims(device, 16);
    expect(claims.claim(OLDEST)).toBe(true);
    return { device, claims };
  };
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    path = s.file('pool');
    Pool.create(path, { size: 8 * MiB, journalBytes: 64 * KiB }).closeSync();
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const d of devices.splice(0)) if (!d.closed) d.close();
    s.cleanup();
  });

  it('an unlinked file’s blocks are not reused under a claim, and are once it goes', () => {
    const p = Pool.open(path);
    const a = p.open('a', { create: true });
    for (let i = 0; i < 32; i++) a.appendSync(CHUNK);
    a.fsyncSync();
    const old = blocksOf(a);
    a.close();
    const { device } = claim();
    p.unlink('a');
    const b = p.open('b', { create: true });
    expect(fill(b)).toBeGreaterThan(0);
    for (const blk of blocksOf(b)) expect(old.has(blk)).toBe(false);
    // The claim goes: the next allocation that finds no room takes the held blocks back.
    device.close();
    expect(fill(b)).toBeGreaterThanOrEqual(32);
    const now = blocksOf(b);
    expect([...old].filter((blk) => now.has(blk)).length).toBe(old.size);
    b.close();
    p.closeSync();
    expect(Pool.check(path).ok).toBe(true);
  });

  it('a close under a claim records the held blocks; check accepts them; the next writer finds them and frees them once the claim goes', () => {
    const p = Pool.open(path);
    const a = p.open('a', { create: true });
    for (let i = 0; i < 16; i++) a.appendSync(CHUNK);
    a.close();
    const { device } = claim();
    p.unlink('a');
    p.closeSync();
    const sb = superblock(path);
    if (!isSuperblock(sb)) throw new Error(String(sb));
    expect(sb.deferredBlocks).toBeGreaterThanOrEqual(256);
    const report = Pool.check(path);
    expect(report.problems).toEqual([]);
    // The next writer loads every inode to find the held blocks, and keeps them while the claim stands.
    const q = Pool.open(path);
    const freeHeld = q.statfs().freeBlocks;
    device.close();
    const c = q.open('c', { create: true });
    // Room runs out, the claim is gone: the held blocks come back.
    const chunks = fill(c);
    expect(chunks * 16).toBeGreaterThanOrEqual(freeHeld + 256 - 64);
    c.close();
    q.closeSync();
    const after = superblock(path);
    if (!isSuperblock(after)) throw new Error(String(after));
    expect(after.deferredBlocks).toBe(0);
    expect(Pool.check(path).ok).toBe(true);
    const r = Pool.open(path);
    expect(r.stats().inodesInMemory).toBe(0);
    r.closeSync();
  });

  it('checkpoints under a claim reuse no page of the trees the claim reaches', () => {
    const p = Pool.open(path);
    for (let i = 0; i < 200; i++) p.open(`n${i}`, { create: true }).close();
    p.closeSync();
    const before = superblock(path);
    if (!isSuperblock(before)) throw new Error(String(before));
    const roots = Object.values(before.roots).filter((b) => b !== NO_BLOCK);
    const d = Device.open(path, { readonly: true });
    devices.push(d);
    const pages = roots.map((b) => Buffer.from(d.readSafe(b * 4096, 4096)));
    claim();
    const q = Pool.open(path);
    // Enough changes for several checkpoints (a 64 KiB journal), each retiring the pages it replaces.
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 200; i++) q.unlink(`n${(i + round * 37) % 200}`), q.open(`n${(i + round * 37) % 200}`, { create: true }).close();
    }
    q.closeSync();
    const after = superblock(path);
    if (!isSuperblock(after)) throw new Error(String(after));
    expect(after.epoch).toBeGreaterThan(before.epoch + 2);
    expect(after.deferredBlocks).toBeGreaterThan(0);
    roots.forEach((b, i) => expect(Buffer.from(d.readSafe(b * 4096, 4096)).equals(pages[i] as Buffer)).toBe(true));
    expect(Pool.check(path).ok).toBe(true);
  });

  it('a claim holder killed with SIGKILL lets its blocks go', async () => {
    const p = Pool.open(path);
    const a = p.open('a', { create: true });
    for (let i = 0; i < 32; i++) a.appendSync(CHUNK);
    const old = blocksOf(a);
    a.close();
    const at = new Claims(Device.open(path, { readonly: true }), 16).at(OLDEST);
    const child = spawn(process.execPath, ['-e', `${LIB}
      const d = Device.open(process.argv[1], { readonly: true });
      console.log(d.rangeLock(BigInt(process.argv[2]), 1n, 'shared') ? 'claimed' : 'refused');
      setInterval(() => {}, 1000);`, '--', path, String(at)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const answer = await new Promise<string>((resolve, reject) => {
      child.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once('exit', () => reject(new Error('the claim holder exited')));
    });
    expect(answer).toBe('claimed');
    p.unlink('a');
    const b = p.open('b', { create: true });
    fill(b);
    for (const blk of blocksOf(b)) expect(old.has(blk)).toBe(false);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(fill(b)).toBeGreaterThanOrEqual(32);
    b.close();
    p.closeSync();
  });

  it('a writer killed after a free leaves it held for the claim: the next writer’s recovery keeps it used', () => {
    const { device } = claim();
    // A child writer: a file of 32 chunks, synced; then unlinked and synced; then killed before any close.
    const r = runNode(`${LIB}
      const p = Pool.open(process.argv[1]);
      const a = p.open('a', { create: true });
      const chunk = Buffer.alloc(65536, 1);
      for (let i = 0; i < 32; i++) a.appendSync(chunk);
      a.fsyncSync();
      const blocks = a.fiemap().map((e) => [e.physical / 4096, e.length / 4096]);
      a.close();
      p.sync();
      p.unlink('a');
      p.sync();
      console.log(JSON.stringify(blocks));
      process.kill(process.pid, 'SIGKILL');`, [path]);
    expect(r.signal).toBe('SIGKILL');
    const old = new Set<number>();
    for (const [b, n] of JSON.parse(r.stdout) as [number, number][]) for (let i = 0; i < n; i++) old.add(b + i);
    expect(old.size).toBe(512);
    const p = Pool.open(path);
    expect(p.exists('a')).toBe(false);
    const b = p.open('b', { create: true });
    fill(b);
    for (const blk of blocksOf(b)) expect(old.has(blk)).toBe(false);
    device.close();
    expect(fill(b)).toBeGreaterThanOrEqual(32);
    b.close();
    p.closeSync();
    expect(Pool.check(path).ok).toBe(true);
  });
});
