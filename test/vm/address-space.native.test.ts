import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AddressSpace, VM_PAGE } from '../../lib/fs';
import { Device } from '../../lib/index';
import { MiB, PROJECT_ROOT, runNode, scratchDir } from '../support/scratch';

describe('AddressSpace: the page-table primitives of the fault layer', () => {
  let s: ReturnType<typeof scratchDir>;
  let dev: Device;
  let as: AddressSpace;
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    dev = Device.open(s.file('dev'), { create: true, size: 8 * MiB });
    as = new AddressSpace(4 * MiB, 2 * MiB);
  });
  afterEach(() => {
    as.unmap();
    dev.close();
    s.cleanup();
  });

  it('maps device pages at any page of the space, read-only or writable, sharing bytes with the device', () => {
    dev.fill(3 * VM_PAGE, 0x44, VM_PAGE);
    as.mapDevice(0, dev, 3 * VM_PAGE, VM_PAGE, 'read');
    expect(as.bytes[0]).toBe(0x44);
    as.mapDevice(VM_PAGE, dev, 5 * VM_PAGE, 2 * VM_PAGE, 'write');
    as.bytes[VM_PAGE + 1] = 0x99;
    expect(dev.readSafe(5 * VM_PAGE + 1, 1)[0]).toBe(0x99);
    expect(as.writeTraps).toBe(0);
  });

  it.each([
    ['mapDevice', (a: unknown) => as.mapDevice(0, dev, 0, VM_PAGE, a as 'read')],
    ['protect', (a: unknown) => as.protect(0, VM_PAGE, a as 'read')],
  ])('%s refuses an access it does not take with ERR_INVALID_ARG_VALUE, before mapping anything', (_name, call) => {
    const bad = [undefined, null, 7, 'READ', 'rw', {}];
    for (const a of bad) expect(() => call(a)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => as.protect(0, VM_PAGE, 'private-trap' as 'read')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => as.mapDevice(0, dev, 0, VM_PAGE, 'none' as 'read')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('a trap page takes exactly one trap on its first store, logs it, and the store lands', () => {
    as.mapDevice(0, dev, 0, 2 * MiB, 'trap');
    expect(as.bytes[100]).toBe(0); // loads do not trap
    as.bytes[VM_PAGE * 7 + 5] = 1;
    as.bytes[VM_PAGE * 7 + 6] = 2; // same page: no second trap
    as.bytes[VM_PAGE * 2] = 3;
    expect(as.writeTraps).toBe(2);
    expect(as.harvestWrites()).toEqual([VM_PAGE * 7, VM_PAGE * 2]);
    expect(as.harvestWrites()).toEqual([]);
    expect(Array.from(dev.readSafe(VM_PAGE * 7 + 5, 2))).toEqual([1, 2]);
    // Re-arming (what writeback does after cleaning) makes the next store trap again.
    as.protect(0, 2 * MiB, 'trap');
    as.bytes[VM_PAGE * 7] = 4;
    expect(as.writeTraps).toBe(3);
    expect(as.harvestWrites()).toEqual([VM_PAGE * 7]);
    as.protect(0, 2 * MiB, 'write');
    as.bytes[VM_PAGE * 9] = 5;
    expect(as.writeTraps).toBe(3);
    expect(as.harvestWrites()).toEqual([]);
  });

  it('zero pages read as zeros; anonymous pages are private and never reach the device', () => {
    dev.fill(0, 0xaa, VM_PAGE);
    as.mapZero(0, 2 * VM_PAGE);
    expect(as.bytes.subarray(0, 2 * VM_PAGE).every((b) => b === 0)).toBe(true);
    as.mapAnonymous(0, VM_PAGE);
    as.bytes.set(dev.readSafe(0, VM_PAGE), 0); // a copy-on-write copy
    as.bytes[0] = 0x11;
    expect(as.bytes[1]).toBe(0xaa);
    expect(dev.readSafe(0, 1)[0]).toBe(0xaa);
    expect(readFileSync(s.file('dev'))[0]).toBe(0xaa);
  });

  it('release and unmap take the pages away; unmap detaches the bytes; calls after unmap fail', () => {
    as.mapDevice(0, dev, 0, VM_PAGE, 'write');
    as.release(0, VM_PAGE);
    as.unmap();
    as.unmap();
    expect(as.unmapped).toBe(true);
    expect(as.bytes.byteLength).toBe(0);
    expect(() => as.mapZero(0, VM_PAGE)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    expect(() => as.harvestWrites()).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
  });

  it('refuses ranges that are not whole pages inside the space, and writable maps of a read-only device', () => {
    expect(() => as.mapZero(1, VM_PAGE)).toThrow(RangeError);
    expect(() => as.mapZero(0, 100)).toThrow(RangeError);
    expect(() => as.mapZero(4 * MiB, VM_PAGE)).toThrow(RangeError);
    expect(() => as.mapDevice(0, dev, 8 * MiB, VM_PAGE, 'read')).toThrow(RangeError);
    expect(() => as.mapDevice(0, dev, 100, VM_PAGE, 'read')).toThrow(RangeError);
    expect(() => new AddressSpace(100)).toThrow(RangeError);
    expect(() => new AddressSpace(VM_PAGE, 3000)).toThrow(RangeError);
    using ro = Device.open(s.file('dev'), { readonly: true });
    expect(() => as.mapDevice(0, ro, 0, VM_PAGE, 'write')).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_READONLY' }));
    expect(() => as.mapDevice(0, ro, 0, VM_PAGE, 'trap')).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_READONLY' }));
    as.mapDevice(0, ro, 0, VM_PAGE, 'read');
  });

  it('mappings outlive the device handle that made them (the kernel holds the file)', () => {
    as.mapDevice(0, dev, 0, VM_PAGE, 'write');
    dev.close();
    as.bytes[0] = 0x5e;
    expect(readFileSync(s.file('dev'))[0]).toBe(0x5e);
  });
});

describe('AddressSpace faults that are not write traps (child processes)', () => {
  const LIB = `const { Device } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
const { AddressSpace } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/fs.js`)});`;

  it.each([
    ['a load from an empty page', 'console.log(as.bytes[0]);'],
    ['a store to a zero page', 'as.mapZero(0, 4096); as.bytes[0] = 1;'],
    ['a store to a read-only device page', 'as.mapDevice(0, d, 0, 4096, "read"); as.bytes[0] = 1;'],
    ['a load from a released page', 'as.mapDevice(0, d, 0, 4096, "write"); as.release(0, 4096); console.log(as.bytes[0]);'],
  ])('%s still kills the process by SIGSEGV', (_name, action) => {
    const s = scratchDir('/dev/shm');
    try {
      const r = runNode(`${LIB}
        const d = Device.open(process.argv[1], { create: true, size: 1 << 20 });
        const as = new AddressSpace(1 << 20);
        as.mapDevice(4096, d, 0, 4096, 'trap'); as.bytes[4096] = 1; // the trap handler is installed and used
        ${action}
        console.log('survived');`, [s.file('dev')]);
      expect(r.stderr).not.toMatch(/SyntaxError|TypeError|ReferenceError/);
      expect(r.signal).toBe('SIGSEGV');
      expect(r.stdout).toBe('');
    } finally {
      s.cleanup();
    }
  });

  it("Node's own SIGSEGV handling (WebAssembly bounds traps) still works behind the trap handler", () => {
    // (module (memory 1) (func (export "peek") (param i32) (result i32) local.get 0 i32.load))
    const wasm = '0061736d0100000001060160017f017f030201000503010001070801047065656b00000a09010700200028020 00b';
    const r = runNode(`${LIB}
      const as = new AddressSpace(1 << 20);
      const s = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from('${wasm.replace(/ /g, '')}', 'hex')));
      try { s.exports.peek(1 << 30); } catch (e) { console.log(e.constructor.name); }
      as.mapZero(0, 4096); console.log(as.bytes[0]);`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['RuntimeError', '0']);
  });
});
