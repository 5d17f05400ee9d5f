import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { BTree } from '../../../lib/pool/meta/btree';
import { poolPerTest } from './support';

// Applying a refresh's records that fails part way (here: a tree read that fails once, or every time) leaves
// the reader's state between two commits; it takes a new snapshot instead (docs/design.md, "A refresh that
// fails"). Files open across it keep reading their own snapshot. A refresh keeps the records it finds and
// applies them when a call needs what they change (at once when they change a file open), so the failure
// comes from that call.

const KiB = 1024;
type Get = (this: BTree, key: Buffer) => Buffer | null;

describe('a refresh that fails part way through applying records', () => {
  const pool = poolPerTest({ size: 64 * 1024 * KiB, journalBytes: 256 * KiB });
  const open: Pool[] = [];
  const get = BTree.prototype.get as Get;
  afterEach(() => {
    BTree.prototype.get = get;
    for (const p of open.splice(0)) p.closeSync();
  });

  /** Three files in the checkpoint, a writer and a reader on them; `x` made, `old0` renamed (read from the trees by the reader's refresh). */
  function setUp(): { w: Pool; r: Pool } {
    const made = Pool.open(pool.path);
    for (let i = 0; i < 3; i++) {
      const f = made.open(`old${i}`, { create: true, sync: true });
      f.writeSync(Buffer.alloc(5000, i + 1), 0);
      f.close();
    }
    made.closeSync();
    const w = Pool.open(pool.path);
    open.push(w);
    const r = Pool.open(pool.path, { readonly: true });
    open.push(r);
    w.open('x', { create: true }).close();
    w.rename('old0', 'old0b');
    return { w, r };
  }

  /** Tree reads fail `times` times with EIO. */
  function failTreeReads(times: number): void {
    let left = times;
    BTree.prototype.get = function (this: BTree, key: Buffer): Buffer | null {
      if (left-- > 0) throw Object.assign(new Error('EIO (injected)'), { code: 'EIO' });
      return get.call(this, key);
    };
  }

  it('every time, then closed: a reader stuck between two commits closes, and the writer goes on', () => {
    const { w, r } = setUp();
    failTreeReads(Infinity);
    r.refresh();
    expect(() => r.exists('x')).toThrow('EIO (injected)');
    BTree.prototype.get = get;
    r.closeSync();
    expect(r.closed).toBe(true);
    w.open('z', { create: true }).close();
    w.closeSync();
    const after = Pool.check(pool.path);
    expect(after.ok, JSON.stringify(after.problems)).toBe(true);
  });

  it('once: the call that needs the records fails, the next refresh takes a new snapshot; a file open across it reads its own bytes', () => {
    const { w, r } = setUp();
    const kept = r.open('old1', { readonly: true });
    w.unlink('x');
    failTreeReads(1);
    r.refresh();
    // The records change no file open here: applied by the listing, which fails part way; the next refresh
    // takes a new snapshot.
    expect(() => [...r.list()]).toThrow('EIO (injected)');
    r.refresh();
    BTree.prototype.get = get;
    expect([...r.list()].sort()).toEqual(['old0b', 'old1', 'old2']);
    const b = Buffer.alloc(5000);
    kept.readSync(b, 0);
    expect(b.equals(Buffer.alloc(5000, 2))).toBe(true);
    kept.close();
    w.open('y', { create: true }).close();
    r.refresh();
    expect(r.exists('y')).toBe(true);
  });

  it('a file open on an inode of the record applied in part answers nothing until it is opened again', async () => {
    const { w, r } = setUp();
    r.refresh();
    const kept = r.open('old1', { readonly: true });
    const other = r.open('old0b', { readonly: true });
    // One record: old1's inode goes, then old2 (not in the reader's memory: read from the trees, which fail)
    // takes its name. The reader applies the drop, then fails reading old2: the record is applied in part.
    w.rename('old2', 'old1');
    failTreeReads(1);
    r.refresh();
    BTree.prototype.get = get;
    const b = Buffer.alloc(5000);
    const torn = { code: 'ERR_PMEMDAX_REFRESH_FAILED', path: `${pool.path}:old1`, cause: expect.objectContaining({ message: 'EIO (injected)' }) };
    for (const call of [() => kept.readSync(b, 0), () => kept.size, () => kept.stat(), () => kept.fiemap()]) {
      expect(call).toThrow(expect.objectContaining(torn));
    }
    await expect(kept.read(b, 0)).rejects.toMatchObject(torn);
    // A file on an inode the record does not change reads on.
    other.readSync(b, 0);
    expect(b.equals(Buffer.alloc(5000, 1))).toBe(true);
    kept.close();
    other.close();
    const again = r.open('old1', { readonly: true });
    again.readSync(b, 0);
    expect(b.equals(Buffer.alloc(5000, 3))).toBe(true);
    again.close();
  });

  it('every time: the first call that needs the records throws the error, then the calls refuse; a refresh with the trees readable recovers', () => {
    const { r } = setUp();
    const kept = r.open('old1', { readonly: true });
    const listing = r.list();
    expect(listing.next().value).toBe('old0');
    failTreeReads(Infinity);
    // The records change no file open here: kept, not applied. A call that needs them applies them and fails part way.
    r.refresh();
    expect(() => r.exists('x')).toThrow('EIO (injected)');
    // Its state is between two commits: the calls that read it refuse to answer from it (a listing under way too);
    // refresh, close, check (of the media) and stats still work.
    const stuck = { code: 'ERR_PMEMDAX_REFRESH_FAILED', path: pool.path, cause: expect.objectContaining({ message: 'EIO (injected)' }) };
    for (const call of [() => r.exists('x'), () => r.stat('old1'), () => [...r.list()], () => listing.next(), () => r.open('old2', { readonly: true }), () => r.statfs()]) {
      expect(call).toThrow(expect.objectContaining(stuck));
    }
    // A refresh takes a new snapshot; the first call that needs its records meets the error again.
    r.refresh();
    expect(() => r.stat('x')).toThrow('EIO (injected)');
    expect(() => r.stat('old1')).toThrow(expect.objectContaining(stuck));
    expect(r.stats().checkpoints).toBeGreaterThanOrEqual(0);
    BTree.prototype.get = get;
    expect(r.check().ok).toBe(true);
    kept.close();
    r.refresh();
    expect([...r.list()].sort()).toEqual(['old0b', 'old1', 'old2', 'x']);
    const f = r.open('old0b', { readonly: true });
    const b = Buffer.alloc(5000);
    f.readSync(b, 0);
    f.close();
    expect(b.equals(Buffer.alloc(5000, 1))).toBe(true);
    const after = Pool.check(pool.path);
    expect(after.ok, JSON.stringify(after.problems)).toBe(true);
  });
});
