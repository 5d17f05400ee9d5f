// Persistence work on pmem. A power cut under TCG does not lose stores still in the (emulated) caches, so
// the flushes themselves are proven by the device's counter of cache lines written back.
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyFlags, Device } from '../../lib/index';
import { CACHELINE, MiB, pmemMedium } from '../support/pmem';

const medium = pmemMedium;

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe.skipIf(medium === null)('persistence on pmem', () => {
  if (medium === null) return;
  let dir: string | null = null;
  let path: string;
  let d: Device;
  const open = (): Device => (medium.devdax ? Device.open(path) : Device.open(path, { create: true, size: 8 * MiB }));

  beforeAll(() => {
    if (medium.devdax) {
      path = medium.path;
    } else {
      dir = mkdtempSync(join(medium.path, 'persist-'));
      path = join(dir, 'dev');
    }
    d = open();
  });
  afterAll(() => {
    d?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${medium.name}: MAP_SYNC is in use and durability is not left to msync`, () => {
    expect(d.info.mapSync).toBe(true);
    expect(d.info.granularity).not.toBe('page');
  });

  it(`${medium.name}: persist over N cache lines writes back exactly N lines, with no msync`, () => {
    expect(d.info.granularity).toBe('cacheline');
    const before = d.stats();
    d.persist(4096, 37 * CACHELINE);
    const mid = d.stats();
    expect(mid.flushedLines - before.flushedLines).toBe(37);
    // Unaligned: [100, 300) touches lines 1 to 4.
    d.persist(100, 200);
    const after = d.stats();
    expect(after.flushedLines - mid.flushedLines).toBe(4);
    expect(after.msyncs).toBe(before.msyncs);
    expect(after.drains).toBeGreaterThan(before.drains);
  });

  it(`${medium.name}: flush then drain counts the same lines; persistRanges counts every range`, () => {
    const s0 = d.stats();
    d.flush(64 * 1024, 8 * CACHELINE);
    d.drain();
    const s1 = d.stats();
    expect(s1.flushedLines - s0.flushedLines).toBe(8);
    d.persistRanges([{ offset: 0, length: CACHELINE }, { offset: 1 * MiB, length: 3 * CACHELINE }]);
    expect(d.stats().flushedLines - s1.flushedLines).toBe(4);
  });

  it(`${medium.name}: copy without flush, then persist, writes back the copied lines`, () => {
    const data = pattern(16 * CACHELINE, 7);
    const s0 = d.stats();
    d.copy(2 * MiB, data, CopyFlags.NOFLUSH | CopyFlags.TEMPORAL | CopyFlags.NODRAIN);
    expect(d.stats().flushedLines).toBe(s0.flushedLines);
    d.persist(2 * MiB, data.byteLength);
    expect(d.stats().flushedLines - s0.flushedLines).toBe(16);
  });

  it(`${medium.name}: persisted data is there for a new mapping${medium.devdax ? '' : ' and for read(2)'}`, () => {
    const data = pattern(3 * 4096 + 123, 99);
    d.directAccess(768, 4).view.set(data);
    d.persist(768 * 4096, data.byteLength);
    d.close();
    d = open();
    expect(Buffer.from(d.readSafe(768 * 4096, data.byteLength)).equals(Buffer.from(data))).toBe(true);
    if (!medium.devdax) {
      const fd = openSync(path, 'r');
      try {
        const back = Buffer.alloc(data.byteLength);
        expect(readSync(fd, back, 0, back.byteLength, 768 * 4096)).toBe(data.byteLength);
        expect(back.equals(Buffer.from(data))).toBe(true);
      } finally {
        closeSync(fd);
      }
    }
  });
});
