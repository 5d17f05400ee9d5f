import { expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MemoryDevice, type StrictMemoryDevice } from '../../lib/testing';
import { GatedDevice } from './support/gated-device';

const SIZE = 1024 * 1024;

/**
 * The phases a group commit is stopped at: 0, its data's write-back in flight; 1, its record written
 * (page cache) and that write-back in flight; 2, done (its continuations may not have run).
 */
/** Until the first job of a group commit (its data's write-back) has started. */
async function untilJob(dev: GatedDevice): Promise<void> {
  for (let k = 0; k < 100 && dev.gates.length === 0; k++) await Promise.resolve();
}

function image(dev: StrictMemoryDevice, newest: number): Pool {
  const m = new MemoryDevice(dev.size);
  dev.crashImageInto(m.bytes, Math.random, { newest });
  return Pool.openOn(m, { path: 'img' });
}

function fileOn(p: Pool, name: string): Uint8Array | null {
  if (!p.exists(name)) return null;
  const f = p.open(name, { readonly: true });
  const b = new Uint8Array(f.size);
  f.readSync(b, 0);
  return b;
}

type SyncCommit = 'fsyncSync' | 'pool.sync' | 'create' | 'rename' | 'unlink' | 'writeSync';

it.each([0, 1, 2] as const)('a sync commit at phase %i of a group commit is durable on return, and the flight stays correct (many, through checkpoints)', async (phase) => {
  const dev = new GatedDevice(SIZE);
  const pool = Pool.createOn(dev);
  const f = pool.open('f', { create: true, sync: true });
  const g = pool.open('g', { create: true, sync: true });
  const kinds: SyncCommit[] = ['fsyncSync', 'pool.sync', 'create', 'rename', 'unlink', 'writeSync'];
  const problems: string[] = [];
  const startCk = pool.stats().checkpoints;
  for (let i = 0; i < 900 && problems.length < 3; i++) {
    const tag = (i % 250) + 1;
    const data = new Uint8Array(100).fill(tag);
    const pos = (i % 40) * 100;
    const w = f.write(data, pos);
    let ok = false;
    w.then(() => { ok = true; }, (e: unknown) => problems.push(`${i}: write rejected ${String(e)}`));
    // phase 0: data job in flight; 1: record written, its job in flight; 2: flight done.
    await untilJob(dev);
    if (dev.gates.length === 0) problems.push(`${i}: no job started`);
    for (let k = 0; k < phase; k++) await dev.releaseOne();
    const kind = kinds[i % kinds.length] as SyncCommit;
    try {
      switch (kind) {
        case 'fsyncSync': g.fsyncSync(); break;
        case 'pool.sync': pool.sync(); break;
        case 'create': pool.open(`n${i}`, { create: true }).close(); break;
        case 'rename': if (pool.exists(`n${i - 2}`)) pool.rename(`n${i - 2}`, `m${i}`); else pool.sync(); break;
        case 'unlink': if (pool.exists(`m${i - 2}`)) pool.unlink(`m${i - 2}`); else pool.sync(); break;
        case 'writeSync': g.writeSync(new Uint8Array(50).fill(tag), (i % 10) * 50); break;
      }
    } catch (e) {
      problems.push(`${i} ${kind}: threw ${String(e)}`);
    }
    // Durable on return: the async write (stored before) and the sync commit's own change.
    const p = image(dev, 0);
    const fb = fileOn(p, 'f');
    if (fb === null || fb.length < pos + 100 || !fb.subarray(pos, pos + 100).every((b) => b === tag)) problems.push(`${i} ${kind} phase ${phase}: f's write not durable after the sync commit`);
    if (kind === 'create' && !p.exists(`n${i}`)) problems.push(`${i}: create not durable`);
    const c = p.check();
    if (!c.ok) problems.push(`${i}: check ${JSON.stringify(c.problems).slice(0, 200)}`);
    p.closeSync();
    await dev.releaseAll();
    await w.catch(() => {});
    if (!ok) problems.push(`${i}: write did not resolve`);
  }
  expect(problems).toEqual([]);
  expect(pool.stats().checkpoints - startCk).toBeGreaterThan(0);
  await pool.close();
}, 120_000);

it.each([0, 1, 2] as const)('closeSync at phase %i of a group commit: nothing lands on the media after it', async (phase) => {
  for (let i = 0; i < 30; i++) {
    const dev = new GatedDevice(SIZE);
    const pool = Pool.createOn(dev);
    const f = pool.open('f', { create: true, sync: true });
    const h = pool.open('h', { create: true });
    const g = pool.open('g', { create: true, sync: true });
    const settled: string[] = [];
    const ws: Promise<unknown>[] = [f.write(new Uint8Array(5000).fill(1), i * 10), h.write(new Uint8Array(9000).fill(2), 0)];
    await untilJob(dev);
    for (let k = 0; k < phase; k++) await dev.releaseOne();
    ws.push(g.write(new Uint8Array(100).fill(3), 0), f.truncate(100 + i), h.append(new Uint8Array(10).fill(4)));
    for (const w of ws) w.then(() => settled.push('ok'), (e: unknown) => settled.push((e as { code?: string }).code ?? String(e)));
    await Promise.resolve();
    pool.closeSync();
    const media = dev.media.slice();
    const bytes = dev.bytes.slice();
    await dev.releaseAll();
    await Promise.allSettled(ws);
    expect(Buffer.compare(media, dev.media)).toBe(0);
    expect(Buffer.compare(bytes, dev.bytes)).toBe(0);
    for (const s of settled) expect(['ok', 'ERR_PMEMDAX_CLOSED']).toContain(s);
    const p = Pool.openOn(dev);
    expect(p.check().ok).toBe(true);
    expect(p.info.recovery.replayed ?? 0).toBe(0);
    p.closeSync();
  }
}, 60_000);

it.each([0, 1])('pool.check() during a group commit (phase %i)', async (phase) => {
  const dev = new GatedDevice(SIZE);
  const pool = Pool.createOn(dev);
  const f = pool.open('f', { create: true, sync: true });
  const h = pool.open('h', { create: true });
  await Promise.all([h.write(new Uint8Array(20000).fill(2), 0), dev.releaseAll()]);
  await Promise.all([h.fsync(), dev.releaseAll()]);
  const ws = [f.write(new Uint8Array(5000).fill(1), 0), h.truncate(100), h.append(new Uint8Array(10).fill(4))];
  await untilJob(dev);
  for (let k = 0; k < phase; k++) await dev.releaseOne();
  const c = pool.check();
  expect(c.problems).toEqual([]);
  await Promise.all([...ws, dev.releaseAll()]);
  expect(pool.check().problems).toEqual([]);
  await pool.close();
});
