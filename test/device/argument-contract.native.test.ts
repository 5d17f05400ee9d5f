import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressSpace } from '../../lib/fs';
import { Device, Pool, type DaxRegion, type PoolFile } from '../../lib/index';
import { MiB, scratchDir } from '../support/scratch';

// The argument contract as a table over every public method: a value of the wrong type is a TypeError
// with code ERR_INVALID_ARG_TYPE; a number outside what is allowed is a RangeError ERR_OUT_OF_RANGE, or,
// for a position in a pool file, the errno docs/errors.md gives it (EINVAL, as pread/ftruncate say).
// `undefined` options mean the defaults; `null` or a non-object where options go is ERR_INVALID_ARG_TYPE.

type Expect = 'type' | 'range' | 'EINVAL' | 'ENXIO';
type Ctx = { d: Device; pool: Pool; f: PoolFile; g: PoolFile; r: DaxRegion; as: AddressSpace };
type Call = (c: Ctx, v: unknown) => unknown;

const WRONG_TYPES: [string, unknown][] = [['BigInt', 1n], ['Symbol', Symbol('x')], ['string', '1'], ['null', null]];
const OUT_OF_RANGE: [string, unknown][] = [['NaN', Number.NaN], ['-1', -1], ['1.5', 1.5], ['Infinity', Infinity], ['2**53', 2 ** 53]];
const NOT_OPTIONS: [string, unknown][] = [['null', null], ['number', 5], ['string', 'x'], ['BigInt', 1n], ['Symbol', Symbol('o')]];
const NOT_STRINGS: [string, unknown][] = [['null', null], ['number', 5], ['object', {}], ['BigInt', 1n], ['Symbol', Symbol('s')]];

const n = (v: unknown): number => v as number;
const buf = new Uint8Array(8);

/**
 * Numeric parameters: [method, call with the value in place, what an out-of-range number is, and where
 * docs/errors.md names another errno for one value: direct_access's negative count is EINVAL, and lseek
 * SEEK_DATA/SEEK_HOLE from a negative offset is ENXIO (iomap_seek_data)].
 */
const NUMERIC: [string, Call, Expect, Record<string, Expect>?][] = [
  ['Device.directAccess pgoff', (c, v) => c.d.directAccess(n(v), 1), 'range'],
  ['Device.directAccess nrPages', (c, v) => c.d.directAccess(0, n(v)), 'range', { '-1': 'EINVAL' }],
  ['Device.flush offset', (c, v) => c.d.flush(n(v), 1), 'range'],
  ['Device.flush length', (c, v) => c.d.flush(0, n(v)), 'range'],
  ['Device.persist offset', (c, v) => c.d.persist(n(v), 1), 'range'],
  ['Device.persist length', (c, v) => c.d.persist(0, n(v)), 'range'],
  ['Device.copy offset', (c, v) => c.d.copy(n(v), buf), 'range'],
  ['Device.move dstOffset', (c, v) => c.d.move(n(v), 0, 1), 'range'],
  ['Device.move srcOffset', (c, v) => c.d.move(0, n(v), 1), 'range'],
  ['Device.move length', (c, v) => c.d.move(0, 64, n(v)), 'range'],
  ['Device.fill offset', (c, v) => c.d.fill(n(v), 0, 1), 'range'],
  ['Device.fill length', (c, v) => c.d.fill(0, 0, n(v)), 'range'],
  ['Device.copySafe offset', (c, v) => c.d.copySafe(n(v), buf), 'range'],
  ['Device.readSafe offset', (c, v) => c.d.readSafe(n(v), 1), 'range'],
  ['Device.readSafe length', (c, v) => c.d.readSafe(0, n(v)), 'range'],
  ['Device.deepFlush offset', (c, v) => c.d.deepFlush(n(v), 1), 'range'],
  ['Device.deepFlush length', (c, v) => c.d.deepFlush(0, n(v)), 'range'],
  ['Device.clearBadblocks offset', (c, v) => c.d.clearBadblocks(n(v), 4096), 'range'],
  ['Device.clearBadblocks length', (c, v) => c.d.clearBadblocks(0, n(v)), 'range'],
  ['AddressSpace length', (_c, v) => new AddressSpace(n(v)), 'range'],
  ['AddressSpace alignment', (_c, v) => new AddressSpace(4096, n(v)), 'range'],
  ['AddressSpace trapGranule', (_c, v) => new AddressSpace(4096, 4096, n(v)), 'range'],
  ['AddressSpace.mapZero offset', (c, v) => c.as.mapZero(n(v), 4096), 'range'],
  ['AddressSpace.mapZero length', (c, v) => c.as.mapZero(0, n(v)), 'range'],
  ['AddressSpace.mapAnonymous offset', (c, v) => c.as.mapAnonymous(n(v), 4096), 'range'],
  ['AddressSpace.mapAnonymous length', (c, v) => c.as.mapAnonymous(0, n(v)), 'range'],
  ['AddressSpace.protect offset', (c, v) => c.as.protect(n(v), 4096, 'read'), 'range'],
  ['AddressSpace.protect length', (c, v) => c.as.protect(0, n(v), 'read'), 'range'],
  ['AddressSpace.release offset', (c, v) => c.as.release(n(v), 4096), 'range'],
  ['AddressSpace.release length', (c, v) => c.as.release(0, n(v)), 'range'],
  ['PoolFile.readSync pos', (c, v) => c.f.readSync(buf, n(v)), 'EINVAL'],
  ['PoolFile.writeSync pos', (c, v) => c.f.writeSync(buf, n(v)), 'EINVAL'],
  ['PoolFile.read pos', (c, v) => c.f.read(buf, n(v)), 'EINVAL'],
  ['PoolFile.write pos', (c, v) => c.f.write(buf, n(v)), 'EINVAL'],
  ['PoolFile.truncate size', (c, v) => c.f.truncate(n(v)), 'EINVAL'],
  ['PoolFile.fallocate offset', (c, v) => c.f.fallocate('keep-size', n(v), 4096), 'EINVAL'],
  ['PoolFile.fallocate length', (c, v) => c.f.fallocate('keep-size', 0, n(v)), 'EINVAL'],
  ['PoolFile.unshare offset', (c, v) => c.f.unshare(n(v), 4096), 'EINVAL'],
  ['PoolFile.unshare length', (c, v) => c.f.unshare(0, n(v)), 'EINVAL'],
  ['PoolFile.seekData offset', (c, v) => c.f.seekData(n(v)), 'EINVAL', { '-1': 'ENXIO' }],
  ['PoolFile.seekHole offset', (c, v) => c.f.seekHole(n(v)), 'EINVAL', { '-1': 'ENXIO' }],
  ['PoolFile.fiemap offset', (c, v) => c.f.fiemap(n(v), 4096), 'EINVAL'],
  ['PoolFile.fiemap length', (c, v) => c.f.fiemap(0, n(v)), 'EINVAL'],
  ['PoolFile.clone srcOffset', (c, v) => c.f.clone(c.g, n(v), 0, 4096), 'EINVAL'],
  ['PoolFile.clone dstOffset', (c, v) => c.f.clone(c.g, 0, n(v), 4096), 'EINVAL'],
  ['PoolFile.clone length', (c, v) => c.f.clone(c.g, 0, 0, n(v)), 'EINVAL'],
  ['PoolFile.dedupe srcOffset', (c, v) => c.f.dedupe(c.g, n(v), 0, 4096), 'EINVAL'],
  ['PoolFile.dedupe dstOffset', (c, v) => c.f.dedupe(c.g, 0, n(v), 4096), 'EINVAL'],
  ['PoolFile.dedupe length', (c, v) => c.f.dedupe(c.g, 0, 0, n(v)), 'EINVAL'],
  ['PoolFile.mmap offset', (c, v) => c.f.mmap({ offset: n(v), length: 4096 }), 'range'],
  ['PoolFile.mmap length', (c, v) => c.f.mmap({ length: n(v) }), 'range'],
  ['DaxRegion.populate offset', (c, v) => c.r.populate({ offset: n(v), length: 1 }), 'range'],
  ['DaxRegion.populate length', (c, v) => c.r.populate({ offset: 0, length: n(v) }), 'range'],
  ['DaxRegion.fault pgoff', (c, v) => c.r.fault(n(v)), 'range'],
  ['DaxRegion.sync offset', (c, v) => c.r.sync({ offset: n(v), length: 1 }), 'range'],
  ['DaxRegion.sync length', (c, v) => c.r.sync({ offset: 0, length: n(v) }), 'range'],
  ['DaxRegion.pin offset', (c, v) => c.r.pin({ offset: n(v), length: 1 }), 'range'],
  ['DaxRegion.pin length', (c, v) => c.r.pin({ offset: 0, length: n(v) }), 'range'],
  ['DaxFile.fsync offset', (c, v) => c.f.inode.daxFile?.fsync({ offset: n(v), length: 1 }), 'range'],
  ['DaxFile.fsync length', (c, v) => c.f.inode.daxFile?.fsync({ offset: 0, length: n(v) }), 'range'],
  ['DaxFile.layoutBusyPage offset', (c, v) => c.f.inode.daxFile?.layoutBusyPage({ offset: n(v) }), 'range'],
  ['DaxFile.breakLayout length', (c, v) => c.f.inode.daxFile?.breakLayout({ length: n(v) }), 'range'],
];

/** Object parameters (options, buffers, targets, callbacks): every value in NOT_OPTIONS is a wrong type. */
const OBJECTS: [string, Call][] = [
  ['Device.open options', (c, v) => Device.open(c.d.path, v as never)],
  ['Device.directAccess options', (c, v) => c.d.directAccess(0, 1, v as never)],
  ['Device.copy src', (c, v) => c.d.copy(0, v as never)],
  ['Device.copySafe target', (c, v) => c.d.copySafe(0, v as never)],
  ['Device.clearBadblocks data', (c, v) => c.d.clearBadblocks(0, 4096, (v === null ? 5 : v) as never)],
  ['Pool.create options', (c, v) => Pool.create(`${c.d.path}.new`, v as never)],
  ['Pool.open options', (c, v) => Pool.open(`${c.d.path}.none`, v as never)],
  ['Pool.open (file) options', (c, v) => c.pool.open('f', v as never)],
  ['Pool.createOn options', (c, v) => Pool.createOn(c.d, v as never)],
  ['Pool.openOn options', (c, v) => Pool.openOn(c.d, v as never)],
  ['Pool.list options', (c, v) => [...c.pool.list(v as never)]],
  ['Pool.check options', (c, v) => c.pool.check(v as never)],
  ['Pool.check progress', (c, v) => c.pool.check({ progress: v as never })],
  ['PoolFile.readSync buffer', (c, v) => c.f.readSync(v as never, 0)],
  ['PoolFile.writeSync buffer', (c, v) => c.f.writeSync(v as never, 0)],
  ['PoolFile.read buffer', (c, v) => c.f.read(v as never, 0)],
  ['PoolFile.write buffer', (c, v) => c.f.write(v as never, 0)],
  ['PoolFile.appendSync buffer', (c, v) => c.f.appendSync(v as never)],
  ['PoolFile.append buffer', (c, v) => c.f.append(v as never)],
  ['PoolFile.seekData options', (c, v) => c.f.seekData(0, v as never)],
  ['PoolFile.clone target', (c, v) => c.f.clone(v as never, 0, 0, 4096)],
  ['PoolFile.dedupe target', (c, v) => c.f.dedupe(v as never, 0, 0, 4096)],
  ['PoolFile.mmap options', (c, v) => c.f.mmap(v as never)],
  ['DaxRegion.populate range', (c, v) => c.r.populate(v as never)],
  ['DaxRegion.fault options', (c, v) => c.r.fault(c.r.pgoff, v as never)],
  ['DaxRegion.sync range', (c, v) => c.r.sync(v as never)],
  ['DaxRegion.pin range', (c, v) => c.r.pin(v as never)],
  ['DaxRegion.pin options', (c, v) => c.r.pin({}, v as never)],
  ['DaxFile.fsync range', (c, v) => c.f.inode.daxFile?.fsync(v as never)],
  ['DaxFile.layoutBusyPage range', (c, v) => c.f.inode.daxFile?.layoutBusyPage(v as never)],
  ['DaxFile.breakLayout range', (c, v) => c.f.inode.daxFile?.breakLayout(v as never)],
  ['DaxFile.breakLayout options', (c, v) => c.f.inode.daxFile?.breakLayout({}, v as never)],
];

/**
 * String parameters: anything but a string is a wrong type (a string's own rules are the errno of
 * docs/errors.md for names and fallocate modes, ERR_INVALID_ARG_VALUE for populate's mode).
 */
const NAMES: [string, Call][] = [
  ['DaxRegion.populate mode', (c, v) => c.r.populate({}, v as never)],
  ['PoolFile.fallocate mode', (c, v) => c.f.fallocate(v as never, 0, 4096)],
  ['Pool.open (file) name', (c, v) => c.pool.open(v as never)],
  ['Pool.exists name', (c, v) => c.pool.exists(v as never)],
  ['Pool.stat name', (c, v) => c.pool.stat(v as never)],
  ['Pool.unlink name', (c, v) => c.pool.unlink(v as never)],
  ['Pool.rename from', (c, v) => c.pool.rename(v as never, 'h')],
  ['Pool.rename to', (c, v) => c.pool.rename('f', v as never)],
  ['Pool.list prefix', (c, v) => [...c.pool.list({ prefix: v as never })]],
];

/** Boolean options: anything but a boolean (or undefined) is a wrong type, not a silent `false`. */
const NOT_BOOLEANS: [string, unknown][] = [['null', null], ['number', 1], ['string', 'yes'], ['object', {}]];
const BOOLEANS: [string, Call][] = [
  ...['create', 'exclusive', 'truncate', 'sync', 'readonly'].map((o): [string, Call] => [`Pool.open (file) ${o}`, (c, v) => c.pool.open('f', { [o]: v })]),
  ...['shared', 'sync', 'write', 'huge'].map((o): [string, Call] => [`PoolFile.mmap ${o}`, (c, v) => c.f.mmap({ length: 4096, [o]: v })]),
  ['DaxRegion.fault write', (c, v) => c.r.fault(c.r.pgoff, { write: v as never })],
  ['DaxRegion.pin write', (c, v) => c.r.pin({}, { write: v as never })],
  ['DaxFile.breakLayout wait', (c, v) => c.f.inode.daxFile?.breakLayout({}, { wait: v as never })],
];

const CODES: Record<Expect, { ctor: ErrorConstructor; code: string }> = {
  type: { ctor: TypeError, code: 'ERR_INVALID_ARG_TYPE' },
  range: { ctor: RangeError, code: 'ERR_OUT_OF_RANGE' },
  EINVAL: { ctor: Error, code: 'EINVAL' },
  ENXIO: { ctor: Error, code: 'ENXIO' },
};

async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    return e;
  }
  return undefined;
}

const TABLE: [string, Call, unknown, Expect][] = [
  ...NUMERIC.flatMap(([name, call, range, except = {}]) => [
    ...WRONG_TYPES.map(([label, v]): [string, Call, unknown, Expect] => [`${name} = ${label}`, call, v, 'type']),
    ...OUT_OF_RANGE.map(([label, v]): [string, Call, unknown, Expect] => [`${name} = ${label}`, call, v, except[label] ?? range]),
  ]),
  ...OBJECTS.flatMap(([name, call]) => NOT_OPTIONS.map(([label, v]): [string, Call, unknown, Expect] => [`${name} = ${label}`, call, v, 'type'])),
  ...BOOLEANS.flatMap(([name, call]) => NOT_BOOLEANS.map(([label, v]): [string, Call, unknown, Expect] => [`${name} = ${label}`, call, v, 'type'])),
  ...NAMES.flatMap(([name, call]) => NOT_STRINGS.map(([label, v]): [string, Call, unknown, Expect] => [`${name} = ${label}`, call, v, 'type'])),
];

describe('argument contract: every public method × every kind of bad value', () => {
  const s = scratchDir('/dev/shm');
  const c = {} as Ctx;
  beforeAll(async () => {
    c.d = Device.open(s.file('dev'), { create: true, size: 2 * MiB });
    c.pool = Pool.create(s.file('pool'), { size: 16 * MiB });
    c.f = c.pool.open('f', { create: true });
    c.g = c.pool.open('g', { create: true });
    await c.f.write(new Uint8Array(8192).fill(1), 0);
    await c.g.write(new Uint8Array(8192).fill(1), 0);
    c.r = c.f.mmap({ length: 8192 });
    c.as = new AddressSpace(2 * MiB);
  });
  afterAll(() => {
    c.r.unmap();
    c.as.unmap();
    c.pool.closeSync();
    c.d.close();
    s.cleanup();
  });

  it.each(TABLE)('%s', async (_name, call, value, expected) => {
    const e = await failure(() => call(c, value));
    const { ctor, code } = CODES[expected];
    expect(e).toBeInstanceOf(ctor);
    expect(e).toMatchObject({ code });
  });

  it('an unknown populate mode is ERR_INVALID_ARG_VALUE, an unknown fallocate mode EOPNOTSUPP', async () => {
    await expect(c.r.populate({}, 'execute' as never)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    await expect(c.f.fallocate('compress' as never, 0, 4096)).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
  });

  it('undefined options mean the defaults', async () => {
    expect([...c.pool.list(undefined)]).toEqual(['f', 'g']);
    expect(c.pool.check(undefined).problems ?? []).toEqual([]);
    await c.r.sync(undefined);
    expect(c.f.seekData(0, undefined)).toBe(0);
  });

  it('nothing was changed by a refused call', async () => {
    const back = new Uint8Array(8192);
    expect(c.f.readSync(back, 0)).toBe(8192);
    expect(back.every((b) => b === 1)).toBe(true);
    expect(c.f.size).toBe(8192);
  });
});
