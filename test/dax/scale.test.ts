import { describe, expect, it } from 'vitest';
import { checkMapping } from '../../lib/dax/check';
import { deleteMappingRange } from '../../lib/dax/delete';
import { FALLBACK, grabMappingEntry } from '../../lib/dax/grab';
import { insertEntry } from '../../lib/dax/insert';
import { invalidateInodePages2Range } from '../../lib/dax/invalidate';
import { unlockEntry } from '../../lib/dax/lock';
import { DaxMapping } from '../../lib/dax/mapping';
import { daxWritebackMappingRange } from '../../lib/dax/writeback';
import { Errno } from '../../lib/iomap/errno';
import { MemoryDevice } from '../../lib/testing/memory-device';
import { cpuMs } from '../support/cpu-time';

describe('a mapping with a million entries', () => {
  it('grabs, writes back, invalidates and deletes a million entries in seconds', async () => {
    const m = new DaxMapping();
    const inode = { size: 2 ** 40, blockSize: 4096, mapping: m };
    const N = 1_000_000;
    const dev = new MemoryDevice(4096 * 1024);
    const t0 = cpuMs();
    for (let i = 0; i < N; i++) {
      const e = await grabMappingEntry(m, i, 0);
      if (e === FALLBACK) throw new Error('unexpected fallback');
      // Every fourth page is dirtied by a write fault; the others stay clean.
      insertEntry(m, e, { pfn: i % 1024, zero: false }, { write: i % 4 === 0, sync: false, shared: false });
      unlockEntry(m, e);
    }
    const grabMs = cpuMs() - t0;
    expect(m.nrpages).toBe(N);
    const t1 = cpuMs();
    await daxWritebackMappingRange(inode, dev, { sync: true, start: 0, end: (N / 2) * 4096 - 1 });
    const writebackMs = cpuMs() - t1;
    expect(m.tree.collect(0, N / 2 - 1).some((e) => e.dirty || e.towrite)).toBe(false);
    expect(m.tree.collect(N / 2, N - 1).filter((e) => e.dirty).length).toBe(N / 8);
    const t2 = cpuMs();
    // The dirty second half keeps its dirty entries: the range is busy.
    expect(await invalidateInodePages2Range(m, 0, N - 1)).toBe(-Errno.EBUSY);
    const invalidateMs = cpuMs() - t2;
    expect(m.nrpages).toBe(N / 8);
    expect(await deleteMappingRange(m, 0, N - 1)).toBe(N / 8);
    expect(m.empty).toBe(true);
    expect(checkMapping(m, true)).toEqual([]);
    // CPU-time bounds (a busy machine stretches wall time only); typical figures are several times smaller.
    expect(grabMs).toBeLessThan(20_000);
    expect(writebackMs).toBeLessThan(10_000);
    expect(invalidateMs).toBeLessThan(10_000);
  }, 60_000);
});
