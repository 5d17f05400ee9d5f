import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { errnoError } from '../../lib/errors';
import { loadPool } from '../../lib/pool/load';
import { MemoryDevice } from '../../lib/testing';

const MiB = 1024 * 1024;

// A name held twice for a moment within the journal (a record another process or a damaged log could hold):
// replay gives the name to the last inode named so, and takes it away with that inode, while the inode of
// the checkpoint that held it first still does: the load gives the name back to that inode, for lookups,
// listings (the checkpoint's names tree merged with the changes) and the count (a hostile review's cases).

/** Append one valid journal record (right epoch, sequence and CRC) holding `ops` to the pool on `dev`. */
function appendRecord(dev: MemoryDevice, ops: (next: number) => unknown[]): void {
  const { state, journal } = loadPool(dev, '(device)');
  (state.namespaceOps as unknown[]).push(...ops(state.nextIno));
  expect(journal.append(state)).toBe(true);
}

/** Two files, x and y, in the names tree of a checkpoint (the pool closed). */
function checkpointed(dev: MemoryDevice): { y: number } {
  const pool = Pool.createOn(dev, { journalBytes: 64 * 1024 });
  pool.open('x', { create: true }).close();
  pool.open('y', { create: true }).close();
  const y = pool.stat('y').ino;
  pool.closeSync();
  return { y };
}

const seen = (p: Pool): unknown => ({ x: p.exists('x'), list: [...p.list()], files: p.statfs().files, problems: p.check().problems });

/** While `full`, a write past the journal (tree pages, bitmap copies) fails with ENOSPC: an open that cannot checkpoint. */
class NoRoomDevice extends MemoryDevice {
  full = false;
  override copy(offset: number, src: ArrayBufferView, flags?: number): void {
    if (this.full && offset >= 4096 + 64 * 1024 && offset < this.size - 4096) throw errnoError('ENOSPC', 'write', { path: '(device)', offset });
    super.copy(offset, src, flags);
  }
}

describe('names after a replay of a name held twice for a moment', () => {
  it.each([
    ['a create of a checkpointed name, then a drop of the newcomer', (_y: number) => (next: number) => [{ op: 'create', ino: next, name: 'x', ctimeMs: 1 }, { op: 'drop', ino: next }]],
    ['another file renamed to a checkpointed name, then away again', (y: number) => () => [{ op: 'name', ino: y, name: 'x' }, { op: 'name', ino: y, name: 'z' }]],
  ])('%s: the checkpoint file keeps its name, read-only and writable, counted and listed', (what, ops) => {
    const dev = new MemoryDevice(32 * MiB);
    const { y } = checkpointed(dev);
    appendRecord(dev, ops(y));
    const after = what.startsWith('a create') ? ['x', 'y'] : ['x', 'z'];
    const image = new MemoryDevice(dev.size);
    image.bytes.set(dev.bytes);
    {
      using ro = Pool.openOn(image, { readonly: true });
      expect(seen(ro)).toEqual({ x: true, list: after, files: 2, problems: [] });
    }
    using p = Pool.openOn(dev);
    expect(seen(p)).toEqual({ x: true, list: after, files: 2, problems: [] });
  });

  it('with no room to checkpoint at the open (the journal kept): the name is not taken again, and the pool reopens', () => {
    const dev = new NoRoomDevice(32 * MiB);
    checkpointed(dev);
    appendRecord(dev, (next) => [{ op: 'create', ino: next, name: 'x', ctimeMs: 1 }, { op: 'drop', ino: next }]);
    dev.full = true;
    const p = Pool.openOn(dev);
    dev.full = false;
    expect(p.exists('x')).toBe(true);
    expect(() => p.open('x', { create: true, exclusive: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    p.closeSync();
    using again = Pool.openOn(dev, { readonly: true });
    expect([...again.list()]).toEqual(['x', 'y']);
    expect(again.check().problems).toEqual([]);
  });
});
