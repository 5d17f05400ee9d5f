import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { errnoError } from '../../lib/errors';
import { MemoryDevice, StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';
import { closeInflightSuite } from './support/close-inflight-suite';

describe('calls in flight when the pool or the file closes, on a MemoryDevice pool (docs/api.md)', () => {
  let device = new MemoryDevice(8 * 1024 * 1024);
  closeInflightSuite({
    fresh: () => {
      device = new MemoryDevice(8 * 1024 * 1024);
      return Pool.createOn(device);
    },
    reopen: () => Pool.openOn(device),
    image: () => device.bytes,
  });
});

describe('closeSync while a truncate, a write and an append are at any stage (docs/api.md, "Calls in flight at close")', () => {
  it('a call resolves only if its effect is in the reopened pool; the ones that resolve come first in call order; the rest reject ERR_PMEMDAX_CLOSED', async () => {
    const MiB = 1024 * 1024;
    const cut = MiB + 4097;
    for (let k = 0; k < 14; k++) {
      const device = new MemoryDevice(32 * MiB);
      const pool = Pool.createOn(device);
      const a = pool.open('a', { create: true });
      a.writeSync(Buffer.alloc(9 * MiB, 7), 0);
      await a.fsync();
      const settle = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => String(e.code));
      const calls = [settle(a.truncate(cut)), settle(a.write(Buffer.alloc(100, 0x55), 2 * MiB)), settle(a.append(Buffer.alloc(10, 0x66)))];
      for (let t = 0; t < k; t++) await new Promise((r) => setImmediate(r));
      pool.closeSync();
      const [truncated, wrote, appended] = await Promise.all(calls);
      const why = `closeSync after ${k} turns: ${truncated} ${wrote} ${appended}`;
      for (const o of [truncated, wrote, appended]) expect(['ok', 'ERR_PMEMDAX_CLOSED'], why).toContain(o);
      const order = [truncated, wrote, appended].map((o) => (o === 'ok' ? 1 : 0)).join('');
      expect(['000', '100', '110', '111'], why).toContain(order);
      const p = Pool.openOn(device);
      try {
        expect(p.check().problems, why).toEqual([]);
        const f = p.open('a', { readonly: true });
        const bytes = Buffer.alloc(f.size);
        f.readSync(bytes, 0);
        if (truncated === 'ok') {
          expect(f.size, why).toBeLessThanOrEqual(2 * MiB + 110);
          expect(bytes.subarray(0, cut).every((b) => b === 7), why).toBe(true);
          expect(bytes.subarray(cut, Math.min(f.size, 2 * MiB)).every((b) => b === 0), why).toBe(true);
        }
        if (wrote === 'ok') expect(bytes.subarray(2 * MiB, 2 * MiB + 100).every((b) => b === 0x55), why).toBe(true);
        if (appended === 'ok') {
          expect(f.size, why).toBe(2 * MiB + 110);
          expect(bytes.subarray(2 * MiB + 100).every((b) => b === 0x66), why).toBe(true);
        }
      } finally {
        p.closeSync();
      }
    }
  });
});

/** A device whose next persist fails with EIO once asked to. */
class FailingDevice extends StrictMemoryDevice {
  failNext = false;
  override persist(offset: number, length: number): void {
    if (this.failNext) {
      this.failNext = false;
      throw errnoError('EIO', 'msync', { path: '(device)' });
    }
    super.persist(offset, length);
  }
}

describe('closeSync whose final commit fails (EIO) while calls wait for a group commit', () => {
  it.each([['two files', 'b'], ['one file', 'a']] as const)('%s: no call resolves that is not on the media, and no later call resolves after an earlier one rejected', async (_what, second) => {
    const MiB = 1024 * 1024;
    const dev = new FailingDevice(8 * MiB, { persistAsync: true, storeJobs: false, random: () => 0.5 });
    const pool = Pool.createOn(dev);
    const a = pool.open('a', { create: true, sync: true });
    const b = pool.open('b', { create: true, sync: true });
    a.fsyncSync();
    const base = pool.stats().commitRequests;
    const settle = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => String(e.code));
    const first = settle(a.write(new Uint8Array(4096).fill(1), 0));
    const other = second === 'a' ? a : b;
    const at = second === 'a' ? 4096 : 0;
    const later = settle(other.write(new Uint8Array(4096).fill(2), at));
    // Until the second call's commit is asked for: it gathers behind the first one's flight.
    for (let i = 0; i < 100 && pool.stats().commitRequests < base + 2; i++) await Promise.resolve();
    expect(pool.stats().commitRequests).toBe(base + 2);
    dev.failNext = true;
    expect(() => pool.closeSync()).toThrow(expect.objectContaining({ code: 'EIO' }));
    const outcomes = [await first, await later];
    expect(outcomes[0] === 'ok' || outcomes[1] !== 'ok', `outcomes ${outcomes.join(' ')}`).toBe(true);
    const p = Pool.openOn(memoryDeviceFromImage(dev.crashImage(Math.random, { newest: 0 })));
    try {
      const size = (n: string): number => (p.exists(n) ? p.stat(n).size : -1);
      if (outcomes[0] === 'ok') expect(size('a')).toBeGreaterThanOrEqual(4096);
      if (outcomes[1] === 'ok') expect(size(second)).toBe(at + 4096);
    } finally {
      p.closeSync();
    }
  });
});
