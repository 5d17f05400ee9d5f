import { describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { bytesOf } from '../../lib/device/validate';
import { MemFs, MemoryDevice, StrictMemoryDevice } from '../../lib/testing';
import { DETACHED_KINDS, INVALID_KINDS, VIEW_KINDS, expectInvalidArg, pattern } from '../support/buffer-kinds';
import { deviceBufferSuite } from '../support/device-buffer-suite';
import { poolBufferSuite } from './support/buffer-suite';

const MiB = 1024 * 1024;

describe('bytesOf, the one buffer validator', () => {
  it('hands a non-empty Uint8Array (and a Buffer) back as is', () => {
    const u = new Uint8Array(8);
    const b = Buffer.alloc(8);
    expect(bytesOf(u)).toBe(u);
    expect(bytesOf(b)).toBe(b);
  });

  it.each(VIEW_KINDS)('a $name becomes its exact bytes', (kind) => {
    const content = pattern(64, 1);
    const { view } = kind.make(content);
    const bytes = bytesOf(view);
    expect(bytes.byteLength).toBe(64);
    expect(bytes.buffer).toBe(view.buffer);
    expect(bytes.byteOffset).toBe(view.byteOffset);
    expect([...bytes]).toEqual([...content]);
  });

  it.each(DETACHED_KINDS)('a $name is zero bytes', (kind) => {
    expect(bytesOf(kind.make()).byteLength).toBe(0);
  });

  it.each(INVALID_KINDS)('refuses %s as node does', async (_name, make) => {
    await expectInvalidArg(() => bytesOf(make()));
  });

  it('names what it received as node does', () => {
    expect(() => bytesOf(new ArrayBuffer(1))).toThrow('The "buffer" argument must be an instance of TypedArray or DataView. Received an instance of ArrayBuffer');
    expect(() => bytesOf('ab', 'src')).toThrow(`The "src" argument must be an instance of TypedArray or DataView. Received type string ('ab')`);
    expect(() => bytesOf(null)).toThrow('Received null');
    expect(() => bytesOf(5)).toThrow('Received type number (5)');
  });
});

describe('buffer kinds on a MemoryDevice pool', () => {
  poolBufferSuite(() => Pool.createOn(new MemoryDevice(2 * MiB)));
});

describe('buffer kinds on MemoryDevice', () => {
  deviceBufferSuite(() => new MemoryDevice(64 * 1024), (d) => (d as MemoryDevice).bytes.slice());
});

describe('buffer kinds on StrictMemoryDevice', () => {
  deviceBufferSuite(() => new StrictMemoryDevice(64 * 1024), (d) => (d as StrictMemoryDevice).bytes.slice());
});

describe('buffer kinds on MemFs files', () => {
  it.each(VIEW_KINDS)('write and read a $name by its bytes', async (kind) => {
    const fs = new MemFs(new MemoryDevice(MiB));
    const inode = fs.create();
    const content = pattern(64, 9);
    expect(await fs.write(inode, 100, kind.make(content).view)).toBe(64);
    expect(inode.size).toBe(164);
    const { view, backing, at } = kind.make(new Uint8Array(64));
    expect(fs.read(inode, 100, view)).toBe(64);
    expect([...backing.subarray(at, at + 64)]).toEqual([...content]);
  });

  it.each(INVALID_KINDS)('refuses %s', async (_name, make) => {
    const fs = new MemFs(new MemoryDevice(MiB));
    const inode = fs.create();
    await expectInvalidArg(() => fs.write(inode, 0, make() as Uint8Array));
    await expectInvalidArg(() => fs.read(inode, 0, make() as Uint8Array));
    expect(inode.size).toBe(0);
  });
});
