import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Device } from '../../lib';
import { HOST_MEDIA, MiB, scratchPerTest } from '../support/scratch';

const GiB = 1024 * MiB;

describe.each(HOST_MEDIA)('Device.grow ($name)', ({ dir }) => {
  const s = scratchPerTest(dir());

  it('extends the file in place: the base does not move, views made before keep reading and writing', () => {
    using d = Device.open(s.file('g'), { create: true, size: 4 * MiB, windowBytes: 8 * MiB });
    const before = d.directAccess(0, 1024).view;
    before.set([1, 2, 3], 100);
    const tail = d.directAccess(1023, 1).view;
    tail[4095] = 7;
    d.grow(12 * MiB);
    expect(d.size).toBe(12 * MiB);
    expect(d.info.size).toBe(12 * MiB);
    expect(statSync(s.file('g')).size).toBe(12 * MiB);
    // The old views still reach the same bytes.
    expect([...before.subarray(100, 103)]).toEqual([1, 2, 3]);
    before[200] = 9;
    expect(d.readSafe(200, 1)[0]).toBe(9);
    expect(tail[4095]).toBe(7);
    // Window 0 was 4 MiB; its rest up to 8 MiB is a second buffer, the bytes after the old end are zeros.
    const across = d.directAccess(1023, 4);
    expect(across.pages).toBe(1);
    const rest = d.directAccess(1024, 2048);
    expect(rest.pages).toBe(1024);
    expect(rest.view.every((b) => b === 0)).toBe(true);
    rest.view[0] = 5;
    expect(d.readSafe(4 * MiB, 1)[0]).toBe(5);
    // Window 1, made after the grow, covers all of it.
    expect(d.directAccess(2048, 4096).pages).toBe(1024);
    // Stores, reads and write-back reach the new bytes through every path.
    const bytes = new Uint8Array(8192).fill(0xab);
    d.copy(12 * MiB - 8192, bytes);
    d.persist(12 * MiB - 8192, 8192);
    expect(d.readSafe(12 * MiB - 8192, 8192)).toEqual(bytes);
    d.fill(10 * MiB, 0xcd, 4096);
    d.move(11 * MiB, 10 * MiB, 4096);
    expect(d.readSafe(11 * MiB, 4096).every((b) => b === 0xcd)).toBe(true);
    d.close();
    expect(before.byteLength).toBe(0);
  });

  it('jobs in flight across a grow finish, and a job made after it reaches the new bytes', async () => {
    using d = Device.open(s.file('j'), { create: true, size: 2 * MiB });
    const early = d.writeAsync(0, new Uint8Array(MiB).fill(1));
    d.grow(6 * MiB);
    const late = d.writeAsync(5 * MiB, new Uint8Array(MiB).fill(2));
    await Promise.all([early, late]);
    expect(d.readSafe(MiB - 1, 1)[0]).toBe(1);
    expect(d.readSafe(6 * MiB - 1, 1)[0]).toBe(2);
    await d.persistAsync([{ offset: 0, length: 6 * MiB }]);
  });

  it('reserves address space by the maxSize option, or by default, and refuses to grow beyond it', () => {
    using d = Device.open(s.file('m'), { create: true, size: 2 * MiB, maxSize: 8 * MiB });
    expect(d.info.maxSize).toBe(8 * MiB);
    d.grow(8 * MiB);
    expect(() => d.grow(8 * MiB + 4096)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    expect(d.size).toBe(8 * MiB);
    using dflt = Device.open(s.file('d'), { create: true, size: 2 * MiB });
    expect(dflt.info.maxSize).toBe(2 * MiB + GiB);
  });

  it('refuses to shrink, a closed device, and sizes that are not byte counts; the same size does nothing', () => {
    const path = s.file('r');
    const d = Device.open(path, { create: true, size: 4 * MiB });
    d.grow(4 * MiB);
    expect(d.size).toBe(4 * MiB);
    expect(() => d.grow(2 * MiB)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    for (const size of [Number.NaN, -1, 1.5, 2 ** 53, Infinity]) expect(() => d.grow(size), String(size)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    for (const size of ['8M', 8n * BigInt(MiB), null]) expect(() => d.grow(size as unknown as number), String(size)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    d.close();
    expect(() => d.grow(8 * MiB)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    expect(statSync(path).size).toBe(4 * MiB);
  });

  it('a read-only open maps what another open grew, never extends the file, and refuses past the file or its reservation', () => {
    const path = s.file('ro');
    using d = Device.open(path, { create: true, size: 4 * MiB });
    using ro = Device.open(path, { readonly: true, maxSize: 16 * MiB });
    expect(ro.info.maxSize).toBe(16 * MiB);
    const early = ro.directAccess(0, 1).view;
    // The file is still 4 MiB: a read-only grow past it would map bytes the file does not hold.
    expect(() => ro.grow(8 * MiB)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    expect(statSync(path).size).toBe(4 * MiB);
    d.grow(20 * MiB);
    d.copy(12 * MiB, Buffer.alloc(4096, 0x5a));
    d.copy(0, Buffer.alloc(4096, 0x11));
    ro.grow(12 * MiB + 4096);
    expect(ro.size).toBe(12 * MiB + 4096);
    expect(ro.info.size).toBe(12 * MiB + 4096);
    expect(Buffer.from(ro.readSafe(12 * MiB, 4096)).equals(Buffer.alloc(4096, 0x5a))).toBe(true);
    // What was mapped before the grow stays where it was.
    expect(early[0]).toBe(0x11);
    expect(() => ro.grow(20 * MiB)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
    expect(() => ro.copy(0, Buffer.alloc(1))).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_READONLY' }));
  });
});
