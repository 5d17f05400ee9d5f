import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { CopyFlags, Device } from '../../lib/index';
import { native } from '../../lib/native';
import { NAME_MAX } from '../../lib/pool/layout';
import { AddressSpace, VM_PAGE } from '../../lib/vm/address-space';
import { MiB, scratchDir } from '../support/scratch';

// The numbers native calls take and return are defined once, in C++, and exported by the addon
// (native/constants.cpp); TypeScript reads them from there by name. These tests hold the names each side
// uses to the same tables, so that a constant added, renamed or renumbered on one side alone fails here.
describe('the constants the addon exports', () => {
  const { constants } = native;

  it('are the access, copy, deep-flush, lock and tree tables, frozen, with exactly the names TypeScript reads', () => {
    expect(Object.keys(constants).sort()).toEqual(['access', 'copy', 'deepFlush', 'lock', 'tree']);
    // NAME_MAX: the longest key the addon's names scan makes a string of is the format's longest name.
    expect(constants.tree).toEqual({ CANNOT_SAY: -2, SCAN_PAGES: 256, NAME_MAX });
    expect(Object.keys(constants.lock).sort()).toEqual(['EXCLUSIVE', 'NONE', 'SHARED']);
    expect(Object.keys(constants.access).sort()).toEqual(['NONE', 'PRIVATE_TRAP_WRITE', 'READ', 'READ_WRITE', 'TRAP_WRITE']);
    expect(Object.keys(constants.copy).sort()).toEqual(['NODRAIN', 'NOFLUSH', 'NONTEMPORAL', 'TEMPORAL']);
    expect(Object.keys(constants.deepFlush).sort()).toEqual(['DONE', 'NOT_NEEDED', 'NOT_PERMITTED']);
    expect(Object.isFrozen(constants)).toBe(true);
    for (const table of Object.values(constants)) {
      expect(Object.isFrozen(table)).toBe(true);
      const values = Object.values(table);
      for (const v of values) expect(Number.isInteger(v)).toBe(true);
      expect(new Set(values).size).toBe(values.length);
    }
  });

  it('give CopyFlags its bits: every name of the public table has the value the native copy path tests', () => {
    expect(Object.keys(CopyFlags).sort()).toEqual(Object.keys(constants.copy).sort());
    for (const [name, bit] of Object.entries(CopyFlags)) expect(constants.copy[name as keyof typeof constants.copy], name).toBe(bit);
  });
});

describe('the constants at work', () => {
  let s: ReturnType<typeof scratchDir>;
  let dev: Device;
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    dev = Device.open(s.file('dev'), { create: true, size: 4 * MiB });
  });
  afterEach(() => {
    dev.close();
    s.cleanup();
  });

  it('every combination of the copy bits is accepted, and the next bit refused', () => {
    const all = Object.values(native.constants.copy).reduce((a, b) => a | b, 0);
    dev.copy(0, new Uint8Array([1, 2, 3]), all & ~CopyFlags.NOFLUSH);
    dev.persist(0, 3);
    expect(dev.readSafe(0, 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(() => dev.copy(0, new Uint8Array(1), all + 1)).toThrow(TypeError);
  });

  it('a deep-flush result maps to its name (a file needs none)', () => {
    expect(dev.deepFlush(0, 64)).toBe('not-needed');
  });

  it('each page access maps and protects as its name says, through the address space', () => {
    const as = new AddressSpace(4 * VM_PAGE);
    onTestFinished(() => as.unmap());
    dev.fill(0, 0x5a, 4 * VM_PAGE);
    as.mapDevice(0, dev, 0, VM_PAGE, 'read');
    as.mapDevice(VM_PAGE, dev, VM_PAGE, VM_PAGE, 'write');
    as.mapDevice(2 * VM_PAGE, dev, 2 * VM_PAGE, VM_PAGE, 'trap');
    as.bytes[VM_PAGE] = 1;
    as.bytes[2 * VM_PAGE] = 2;
    expect(as.harvestWrites()).toEqual([2 * VM_PAGE]);
    expect(Array.from(dev.readSafe(VM_PAGE, 1))).toEqual([1]);
    expect(Array.from(dev.readSafe(2 * VM_PAGE, 1))).toEqual([2]);
    expect(as.bytes[0]).toBe(0x5a);
    as.protect(VM_PAGE, VM_PAGE, 'trap');
    as.bytes[VM_PAGE] = 3;
    expect(as.harvestWrites()).toEqual([VM_PAGE]);
  });
});
