import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../../lib/index';
import { MiB, scratchDir } from '../support/scratch';

// Misuse is refused in TypeScript with a TypeError or RangeError (code ERR_INVALID_ARG_TYPE /
// ERR_OUT_OF_RANGE) before anything reaches native code, and the device is unchanged afterwards.
describe('invalid arguments', () => {
  const s = scratchDir('/dev/shm');
  let d: Device;
  beforeAll(() => {
    d = Device.open(s.file('dev'), { create: true, size: 2 * MiB });
    d.fill(0, 0x77, 2 * MiB);
  });
  afterAll(() => {
    d.close();
    s.cleanup();
  });

  const size = 2 * MiB;
  const typeCases: [string, () => unknown][] = [
    ['flush offset string', () => d.flush('0' as unknown as number, 1)],
    ['persist length undefined', () => d.persist(0, undefined as unknown as number)],
    ['copy src not a view', () => d.copy(0, [1, 2] as unknown as Uint8Array)],
    ['copy flags not a number', () => d.copy(0, new Uint8Array(1), '1' as unknown as number)],
    ['copy flags unknown bit', () => d.copy(0, new Uint8Array(1), 16)],
    ['fill value too large', () => d.fill(0, 256, 1)],
    ['fill value negative', () => d.fill(0, -1, 1)],
    ['fill value fractional', () => d.fill(0, 1.5, 1)],
    ['copySafe target not a view', () => d.copySafe(0, {} as Uint8Array)],
    ['persistRanges not ranges', () => d.persistRanges('0,1' as unknown as Float64Array)],
    ['clearBadblocks data not a view', () => d.clearBadblocks(0, 4096, 'x' as unknown as Uint8Array)],
  ];
  it.each(typeCases)('%s is a TypeError', (_name, call) => {
    expect(call).toThrow(TypeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  const rangeCases: [string, () => unknown][] = [
    ['flush past the end', () => d.flush(size - 1, 2)],
    ['persist negative offset', () => d.persist(-1, 1)],
    ['persist fractional length', () => d.persist(0, 0.5)],
    ['persist NaN', () => d.persist(Number.NaN, 1)],
    ['persist beyond 2^53', () => d.persist(2 ** 53, 1)],
    ['copy past the end', () => d.copy(size - 3, new Uint8Array(4))],
    ['move source past the end', () => d.move(0, size - 1, 2)],
    ['move destination past the end', () => d.move(size - 1, 0, 2)],
    ['fill past the end', () => d.fill(size, 0, 1)],
    ['readSafe past the end', () => d.readSafe(size - 1, 2)],
    ['copySafe past the end', () => d.copySafe(size - 1, new Uint8Array(2))],
    ['persistRanges one range past the end', () => d.persistRanges([{ offset: 0, length: 1 }, { offset: size, length: 1 }])],
    ['persistRanges odd Float64Array', () => d.persistRanges(new Float64Array(3))],
    ['deepFlush past the end', () => d.deepFlush(0, size + 1)],
    ['clearBadblocks past the end', () => d.clearBadblocks(size, 4096)],
  ];
  it.each(rangeCases)('%s is a RangeError', (_name, call) => {
    expect(call).toThrow(RangeError);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('clearBadblocks of an unaligned range is EINVAL', () => {
    expect(() => d.clearBadblocks(1, 4096)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'pwrite', offset: 1 }));
    expect(() => d.clearBadblocks(0, 100)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('clearBadblocks with data of the wrong length is a TypeError', () => {
    expect(() => d.clearBadblocks(0, 4096, new Uint8Array(10))).toThrow(TypeError);
  });

  it('nothing was written by any refused call', () => {
    expect(d.readSafe(0, size).every((b) => b === 0x77)).toBe(true);
  });
});
