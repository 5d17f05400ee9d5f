import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device, PmemdaxError, cpuInfo } from '../../lib/index';
import { HOST_MEDIA, MiB, scratchDir } from '../support/scratch';

describe.each(HOST_MEDIA)('opening on a $name', (medium) => {
  let s: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    s = scratchDir(medium.dir());
  });
  afterEach(() => s.cleanup());

  it('creates and sizes a file, maps it 2 MiB-aligned and says it is not on pmem', () => {
    using d = Device.open(s.file('a'), { create: true, size: 4 * MiB });
    expect(statSync(s.file('a')).size).toBe(4 * MiB);
    expect(d.size).toBe(4 * MiB);
    expect(d.info).toMatchObject({ kind: 'file', pmem: false, mapSync: false, granularity: 'page', flush: 'msync', alignment: 2 * MiB, deviceAlignment: 4096 });
    expect(d.info.mapSyncReason).toMatch(/MAP_SYNC/);
    expect(d.info.numaNode).toBeNull();
    expect(d.info.unsafeShutdownCount).toBeNull();
    expect(d.info.region).toBeNull();
    expect(d.info.deepFlushAvailable).toBe(false);
    expect(d.info.copyKernel).toBe(cpuInfo().copyKernel);
    expect(d.info.movntThreshold).toBe(256);
    // The mapping address itself is aligned: the first window starts at a 2 MiB boundary.
    expect(d.directAccess(0, 1).view.byteOffset).toBe(0);
  });

  it('opens an existing file at its own size and keeps its contents', () => {
    writeFileSync(s.file('b'), Buffer.alloc(8192, 0x5a));
    using d = Device.open(s.file('b'));
    expect(d.size).toBe(8192);
    expect(d.readSafe(0, 8192).every((b) => b === 0x5a)).toBe(true);
  });

  it('grows a smaller existing file to the requested size without touching its bytes', () => {
    writeFileSync(s.file('c'), Buffer.from('keep'));
    using d = Device.open(s.file('c'), { size: MiB });
    expect(d.size).toBe(MiB);
    expect(Buffer.from(d.readSafe(0, 4)).toString()).toBe('keep');
    expect(d.readSafe(4, 4)).toEqual(new Uint8Array(4));
  });

  it('opens read-only: reads work, every write is refused and nothing changes', () => {
    writeFileSync(s.file('r'), Buffer.alloc(4096, 1));
    using d = Device.open(s.file('r'), { readonly: true });
    expect(d.info.mapSyncReason).toMatch(/read-only/);
    expect(d.readSafe(0, 2)).toEqual(new Uint8Array([1, 1]));
    for (const write of [() => d.copy(0, new Uint8Array(1)), () => d.fill(0, 0, 1), () => d.move(0, 1, 1), () => d.clearBadblocks(0, 4096)]) {
      expect(write).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_READONLY' }));
    }
    expect(readFileSync(s.file('r')).every((b) => b === 1)).toBe(true);
  });
});

describe('open errors', () => {
  let s: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    s = scratchDir();
  });
  afterEach(() => s.cleanup());

  it('a missing file is ENOENT with path and syscall', () => {
    const path = s.file('missing');
    expect(() => Device.open(path)).toThrow(expect.objectContaining({ code: 'ENOENT', errno: -2, syscall: 'open', path }));
  });

  it('a directory is EISDIR', () => {
    mkdirSync(s.file('d'));
    expect(() => Device.open(s.file('d'), { readonly: true })).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });

  it('an empty file without a size is ERR_PMEMDAX_EMPTY and stays as it was', () => {
    writeFileSync(s.file('e'), '');
    expect(() => Device.open(s.file('e'))).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_EMPTY' }));
    expect(statSync(s.file('e')).size).toBe(0);
  });

  it('a character device that is not device-dax is ERR_PMEMDAX_UNSUPPORTED_SOURCE', () => {
    let caught: unknown;
    try {
      Device.open('/dev/null');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).toMatchObject({ code: 'ERR_PMEMDAX_UNSUPPORTED_SOURCE', path: '/dev/null' });
  });

  it('a read-only open smaller than the requested size is ERR_PMEMDAX_SIZE', () => {
    writeFileSync(s.file('small'), Buffer.alloc(4096));
    expect(() => Device.open(s.file('small'), { readonly: true, size: 8192 })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_SIZE' }));
  });

  it('a failed create leaves no file behind', () => {
    const path = s.file('bad-env');
    process.env.PMEMDAX_FORCE_GRANULARITY = 'bogus';
    try {
      expect(() => Device.open(path, { create: true, size: 4096 })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_BAD_ENV' }));
    } finally {
      delete process.env.PMEMDAX_FORCE_GRANULARITY;
    }
    expect(existsSync(path)).toBe(false);
  });

  it('refuses bad arguments with TypeError/RangeError before touching the file system', () => {
    const path = s.file('x');
    expect(() => Device.open('')).toThrow(TypeError);
    expect(() => Device.open(42 as unknown as string)).toThrow(TypeError);
    expect(() => Device.open(path, { create: true })).toThrow(RangeError);
    expect(() => Device.open(path, { create: true, size: -1 })).toThrow(RangeError);
    expect(() => Device.open(path, { create: true, size: 1.5 })).toThrow(RangeError);
    expect(() => Device.open(path, { create: true, size: 4096, windowBytes: 4096 })).toThrow(RangeError);
    expect(() => Device.open(path, { create: true, size: 4096, windowBytes: 8 * 2 ** 30 })).toThrow(RangeError);
    expect(existsSync(path)).toBe(false);
  });

  it('PmemdaxError carries its code and is an Error', () => {
    const e = new PmemdaxError('ERR_PMEMDAX_CLOSED', 'closed', { path: '/x', offset: 3 });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 'ERR_PMEMDAX_CLOSED', path: '/x', offset: 3, name: 'PmemdaxError' });
  });
});
