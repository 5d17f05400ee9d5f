import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device, PAGE_SIZE } from '../../lib/index';
import { HOST_MEDIA, MiB, scratchDir } from '../support/scratch';

describe.each(HOST_MEDIA)('directAccess on a $name', (medium) => {
  let s: ReturnType<typeof scratchDir>;
  let d: Device;
  beforeEach(() => {
    s = scratchDir(medium.dir());
    // 10 MiB in 4 MiB windows: three windows, the last one short.
    d = Device.open(s.file('dev'), { create: true, size: 10 * MiB, windowBytes: 4 * MiB });
  });
  afterEach(() => {
    d.close();
    s.cleanup();
  });

  it('returns a view of the requested pages over the mapping', () => {
    const { view, pages } = d.directAccess(3, 5);
    expect(pages).toBe(5);
    expect(view.byteLength).toBe(5 * PAGE_SIZE);
    view[0] = 0xab;
    view[view.length - 1] = 0xcd;
    expect(d.readSafe(3 * PAGE_SIZE, 1)[0]).toBe(0xab);
    expect(d.readSafe(8 * PAGE_SIZE - 1, 1)[0]).toBe(0xcd);
  });

  it('never returns more pages than asked, and 0 pages for 0', () => {
    expect(d.directAccess(0, 1).pages).toBe(1);
    expect(d.directAccess(0, 0).pages).toBe(0);
  });

  it('stops at the end of a window: callers loop for the rest', () => {
    const perWindow = (4 * MiB) / PAGE_SIZE;
    const r = d.directAccess(perWindow - 2, 10);
    expect(r.pages).toBe(2);
    const next = d.directAccess(perWindow, 8);
    expect(next.pages).toBe(8);
    expect(next.view.buffer).not.toBe(r.view.buffer);
  });

  it('serves the whole device through several windows, each a single ArrayBuffer', () => {
    const totalPages = (10 * MiB) / PAGE_SIZE;
    const buffers = new Set<ArrayBufferLike>();
    let covered = 0;
    for (let pg = 0; pg < totalPages; ) {
      const { view, pages } = d.directAccess(pg, totalPages - pg);
      expect(pages).toBeGreaterThan(0);
      view.fill(pg & 0xff);
      buffers.add(view.buffer);
      pg += pages;
      covered += pages;
    }
    expect(covered).toBe(totalPages);
    expect(buffers.size).toBe(3);
    // The same window always comes back as the same buffer (never two ArrayBuffers over one address).
    expect(d.directAccess(1, 1).view.buffer).toBe(d.directAccess(2, 1).view.buffer);
    const lastWindowStart = (8 * MiB) / PAGE_SIZE;
    expect(d.readSafe(lastWindowStart * PAGE_SIZE, 1)[0]).toBe(lastWindowStart & 0xff);
  });

  it('the last page is reachable and the one past it is ERANGE', () => {
    const last = (10 * MiB) / PAGE_SIZE - 1;
    expect(d.directAccess(last, 4).pages).toBe(1);
    expect(() => d.directAccess(last + 1, 1)).toThrow(expect.objectContaining({ code: 'ERANGE', syscall: 'direct_access' }));
  });

  it('a negative page count is EINVAL; a non-integer is a RangeError; a non-number a TypeError', () => {
    expect(() => d.directAccess(0, -1)).toThrow(expect.objectContaining({ code: 'EINVAL', errno: -22 }));
    expect(() => d.directAccess(-1, 1)).toThrow(RangeError);
    expect(() => d.directAccess(0.5, 1)).toThrow(RangeError);
    expect(() => d.directAccess(0, 1.5)).toThrow(RangeError);
    expect(() => d.directAccess('0' as unknown as number, 1)).toThrow(TypeError);
  });

  it('after close it is ENXIO and every view handed out is detached', () => {
    const a = d.directAccess(0, 4).view;
    const b = d.directAccess(2000, 4).view;
    d.close();
    expect(() => d.directAccess(0, 1)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    expect(a.byteLength).toBe(0);
    expect(b.byteLength).toBe(0);
    expect(a.buffer.byteLength).toBe(0);
    expect(a[0]).toBeUndefined();
  });
});
