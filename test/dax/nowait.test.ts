import { describe, expect, it } from 'vitest';
import { FALLBACK, grabMappingEntry } from '../../lib/dax/grab';
import { insertEntry } from '../../lib/dax/insert';
import { unlockEntry } from '../../lib/dax/lock';
import { daxRead } from '../../lib/dax/read';
import { daxWrite, daxWriteSync } from '../../lib/dax/write';
import { IomapOp, PAGE_SIZE } from '../../lib/iomap/constants';
import { MemFs } from '../../lib/testing/memfs';
import { MemoryDevice } from '../../lib/testing/memory-device';

describe('NOWAIT and the synchronous write path', () => {
  it('a NOWAIT write that needs an allocation fails with EAGAIN and allocates nothing', async () => {
    const fs = new MemFs(new MemoryDevice(1 << 20));
    const f = fs.create();
    const begins: number[] = [];
    const begin = fs.ops.begin.bind(fs.ops);
    fs.ops.begin = (inode, pos, len, flags) => {
      begins.push(flags);
      return begin(inode, pos, len, flags);
    };
    await expect(daxWrite(f, 0, new Uint8Array(10), fs.ops, { nowait: true })).rejects.toMatchObject({ code: 'EAGAIN', errno: -11 });
    expect(begins).toEqual([IomapOp.DAX | IomapOp.WRITE | IomapOp.NOWAIT]);
    expect(fs.alloc.used()).toBe(0);
    await fs.write(f, 0, new Uint8Array(PAGE_SIZE).fill(1));
    expect(await daxWrite(f, 0, new Uint8Array(10).fill(2), fs.ops, { nowait: true })).toBe(10);
  });

  it('a NOWAIT read passes the flag and reads', async () => {
    const fs = new MemFs(new MemoryDevice(1 << 20));
    const f = fs.create();
    await fs.write(f, 0, new Uint8Array(100).fill(3));
    fs.ops.trace = [];
    const buf = new Uint8Array(100);
    expect(daxRead(f, 0, buf, fs.ops, { nowait: true })).toBe(100);
    expect(fs.ops.trace[0]?.flags).toBe(IomapOp.DAX | IomapOp.NOWAIT);
    expect(buf.every((b) => b === 3)).toBe(true);
  });

  it('an allocating write waits for a locked entry it must invalidate; the sync variant says EAGAIN instead', async () => {
    const fs = new MemFs(new MemoryDevice(1 << 20));
    const f = fs.create();
    const e = await grabMappingEntry(f.mapping, 0, 0);
    if (e === FALLBACK) throw new Error('fallback');
    insertEntry(f.mapping, e, { pfn: 0, zero: true }, { write: false, sync: false, shared: false });
    expect(() => daxWriteSync(f, 0, new Uint8Array(10).fill(4), fs.ops)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    await expect(daxWrite(f, 0, new Uint8Array(10), fs.ops, { nowait: true })).rejects.toMatchObject({ code: 'EAGAIN' });
    expect(fs.alloc.used()).toBe(0);
    let done = false;
    const w = daxWrite(f, 0, new Uint8Array(10).fill(4), fs.ops).then((n) => {
      done = true;
      return n;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    unlockEntry(f.mapping, e);
    expect(await w).toBe(10);
    // The zero-page entry was invalidated before the new block became visible.
    expect(e.present).toBe(false);
    f.size = 10;
    const buf = new Uint8Array(10);
    daxRead(f, 0, buf, fs.ops);
    expect(buf.every((b) => b === 4)).toBe(true);
  });

  it('rejects negative offsets with EINVAL', async () => {
    const fs = new MemFs(new MemoryDevice(1 << 20));
    const f = fs.create();
    expect(() => daxRead(f, -1, new Uint8Array(1), fs.ops)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    await expect(daxWrite(f, -1, new Uint8Array(1), fs.ops)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('a begin failure is thrown as is, with no end', async () => {
    const fs = new MemFs(new MemoryDevice(1 << 20));
    const f = fs.create();
    const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    fs.ops.failNextBegin = err;
    fs.ops.trace = [];
    await expect(daxWrite(f, 0, new Uint8Array(1), fs.ops)).rejects.toBe(err);
    expect(fs.ops.trace).toEqual([]);
  });
});
