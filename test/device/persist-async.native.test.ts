import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopyFlags, Device, type ByteRange } from '../../lib/index';
import { MiB, scratchDir, withEnv } from '../support/scratch';

const PAGE = 4096;

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 13 + seed) & 0xff;
  return out;
}

/** Byte-exact comparison (toEqual on megabytes of a typed array takes minutes). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function reopenRead(path: string, offset: number, length: number): Uint8Array {
  using d = Device.open(path);
  return d.readSafe(offset, length);
}

// persistAsync at page granularity runs its msyncs on the thread pool; a disk file (os.tmpdir(), not tmpfs)
// makes them wait for the device, as they would in use.
describe('persistAsync at page granularity (disk file)', () => {
  let s: ReturnType<typeof scratchDir>;
  let d: Device;
  beforeEach(() => {
    s = scratchDir(tmpdir());
    d = Device.open(s.file('dev'), { create: true, size: 80 * MiB });
  });
  afterEach(() => {
    d.close();
    s.cleanup();
  });

  it('is page granularity here', () => {
    expect(d.info.granularity).toBe('page');
  });

  it('resolves once a NOFLUSH copy is durable: one msync for one range, one fdatasync (counted with them) for several', async () => {
    const data = pattern(3 * PAGE + 100, 1);
    d.copy(PAGE + 7, data, CopyFlags.NOFLUSH);
    let before = d.stats();
    await expect(d.persistAsync([{ offset: PAGE + 7, length: data.length }])).resolves.toBeUndefined();
    expect(d.stats().msyncs - before.msyncs).toBe(1);
    d.copy(PAGE + 7, data, CopyFlags.NOFLUSH);
    before = d.stats();
    await expect(d.persistAsync([{ offset: PAGE + 7, length: data.length }, { offset: 40 * MiB, length: 1 }])).resolves.toBeUndefined();
    const after = d.stats();
    expect(after.msyncs - before.msyncs).toBe(1);
    expect(after.asyncPersists - before.asyncPersists).toBe(1);
    d.close();
    expect(same(reopenRead(s.file('dev'), PAGE + 7, data.length), data)).toBe(true);
  });

  it('copies the pairs at the call: the caller may rewrite its Float64Array at once', async () => {
    const data = pattern(PAGE, 2);
    d.copy(0, data, CopyFlags.NOFLUSH);
    const pairs = new Float64Array([0, PAGE]);
    const done = d.persistAsync(pairs);
    pairs.fill(Number.NaN);
    await expect(done).resolves.toBeUndefined();
    d.close();
    expect(same(reopenRead(s.file('dev'), 0, PAGE), data)).toBe(true);
  });

  it('an empty list resolves at once, with no job', async () => {
    const before = d.stats();
    await expect(d.persistAsync([])).resolves.toBeUndefined();
    await expect(d.persistAsync(new Float64Array(0))).resolves.toBeUndefined();
    expect(d.stats()).toEqual(before);
  });

  it('200 concurrent calls all resolve and every page is durable', async () => {
    const before = d.stats();
    const pages = Array.from({ length: 200 }, (_, i) => pattern(PAGE, i));
    pages.forEach((p, i) => d.copy(i * PAGE, p, CopyFlags.NOFLUSH));
    await Promise.all(pages.map((_, i) => d.persistAsync(new Float64Array([i * PAGE, PAGE]))));
    const after = d.stats();
    expect(after.asyncPersists - before.asyncPersists).toBe(200);
    expect(after.msyncs - before.msyncs).toBe(200);
    d.close();
    const back = reopenRead(s.file('dev'), 0, 200 * PAGE);
    pages.forEach((p, i) => expect(same(back.subarray(i * PAGE, (i + 1) * PAGE), p)).toBe(true));
  });

  it('does not block the event loop: a setImmediate callback runs before a 64 MiB write-back resolves', async () => {
    const chunk = pattern(MiB, 3);
    for (let i = 0; i < 64; i++) d.copy(i * MiB, chunk, CopyFlags.NOFLUSH);
    const order: string[] = [];
    const done = d.persistAsync([{ offset: 0, length: 64 * MiB }]).then(() => order.push('resolved'));
    setImmediate(() => order.push('immediate'));
    await done;
    expect(order).toEqual(['immediate', 'resolved']);
  });

  // Had close not waited, the msyncs still queued would meet an unmapped range and reject with ENOMEM.
  it('close() with jobs in flight waits for them: no crash, and every promise resolves', async () => {
    const chunk = pattern(MiB, 4);
    for (let i = 0; i < 16; i++) d.copy(i * MiB, chunk, CopyFlags.NOFLUSH);
    const jobs = Array.from({ length: 16 }, (_, i) => d.persistAsync([{ offset: i * MiB, length: MiB }]));
    d.close();
    expect(d.closed).toBe(true);
    await expect(Promise.all(jobs)).resolves.toHaveLength(16);
    expect(d.stats().asyncPersists).toBe(16);
    const back = reopenRead(s.file('dev'), 0, 16 * MiB);
    for (let i = 0; i < 16; i++) expect(same(back.subarray(i * MiB, (i + 1) * MiB), chunk)).toBe(true);
  });

  it('a closed device rejects (never throws) with ERR_PMEMDAX_CLOSED', async () => {
    d.close();
    let call: Promise<void> | undefined;
    expect(() => {
      call = d.persistAsync([{ offset: 0, length: PAGE }]);
    }).not.toThrow();
    await expect(call).rejects.toMatchObject({ code: 'ERR_PMEMDAX_CLOSED', path: s.file('dev') });
    await expect(d.persistAsync([])).rejects.toMatchObject({ code: 'ERR_PMEMDAX_CLOSED' });
  });

  // The bad inputs of persistRanges (test/device/arguments.native.test.ts), as rejections.
  const size = 80 * MiB;
  const cases: [string, () => Float64Array | readonly ByteRange[], string][] = [
    ['not ranges', () => '0,1' as unknown as Float64Array, 'ERR_INVALID_ARG_TYPE'],
    ['one range past the end', () => [{ offset: 0, length: 1 }, { offset: size, length: 1 }], 'ERR_OUT_OF_RANGE'],
    ['odd Float64Array', () => new Float64Array(3), 'ERR_OUT_OF_RANGE'],
    ['negative offset', () => new Float64Array([-1, 1]), 'ERR_OUT_OF_RANGE'],
    ['NaN length', () => [{ offset: 0, length: Number.NaN }], 'ERR_OUT_OF_RANGE'],
  ];
  it.each(cases)('%s: rejects as persistRanges throws', async (_name, ranges, code) => {
    const arg = ranges();
    let thrown: unknown;
    try {
      d.persistRanges(arg);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code });
    const before = d.stats();
    await expect(d.persistAsync(arg)).rejects.toMatchObject({ code, name: (thrown as Error).name, message: (thrown as Error).message });
    expect(d.stats()).toEqual(before);
  });
});

describe.each(['cacheline', 'byte'] as const)('persistAsync at %s granularity (forced, /dev/shm)', (granularity) => {
  let s: ReturnType<typeof scratchDir>;
  let d: Device;
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    d = withEnv({ PMEMDAX_FORCE_GRANULARITY: granularity }, () => Device.open(s.file('dev'), { create: true, size: 4 * MiB }));
  });
  afterEach(() => {
    d.close();
    s.cleanup();
  });

  it('persists inline before it returns: no job, no msync, flushes counted at the call', async () => {
    expect(d.info.granularity).toBe(granularity);
    const data = pattern(1000, 5);
    d.copy(100, data, CopyFlags.NOFLUSH);
    const before = d.stats();
    const done = d.persistAsync([{ offset: 100, length: data.length }]);
    const now = d.stats();
    if (granularity === 'cacheline') expect(now.flushedLines - before.flushedLines).toBe(Math.ceil((100 + 1000) / 64) - 1);
    expect(now.drains - before.drains).toBe(1);
    await expect(done).resolves.toBeUndefined();
    expect(d.stats()).toMatchObject({ asyncPersists: 0, msyncs: 0 });
    d.close();
    expect(same(reopenRead(s.file('dev'), 100, data.length), data)).toBe(true);
  });

  it('bad ranges and a closed device still reject', async () => {
    await expect(d.persistAsync([{ offset: 4 * MiB, length: 1 }])).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    d.close();
    await expect(d.persistAsync([{ offset: 0, length: 1 }])).rejects.toMatchObject({ code: 'ERR_PMEMDAX_CLOSED' });
  });
});

/** `call` on a fresh 4 MiB device in `s` neither throws nor resolves: it rejects with `code`; waitJobs after close returns. */
async function rejectsWithoutThrowing(s: ReturnType<typeof scratchDir>, call: (d: Device) => Promise<void>, code: string): Promise<void> {
  const d = Device.open(s.file('dev'), { create: true, size: 4 * MiB });
  let p: Promise<void> | undefined;
  expect(() => (p = call(d))).not.toThrow();
  await expect(p).rejects.toMatchObject({ code });
  d.close();
  d.waitJobs();
}

describe('writeAsync and waitJobs', () => {
  let s: ReturnType<typeof scratchDir>;
  afterEach(() => s.cleanup());

  it('page granularity (disk file): the bytes are taken at the call, written and made durable on the pool; waitJobs returns once the write is in', async () => {
    s = scratchDir(tmpdir());
    const d = Device.open(s.file('dev'), { create: true, size: 4 * MiB });
    const data = pattern(3 * PAGE + 11, 9);
    const before = d.stats();
    const done = d.writeAsync(PAGE + 5, data);
    data.fill(0); // taken at the call: changing the buffer now changes nothing
    d.waitJobs();
    const mid = new Uint8Array(3 * PAGE + 11);
    d.copySafe(PAGE + 5, mid);
    expect(same(mid, pattern(3 * PAGE + 11, 9))).toBe(true);
    await expect(done).resolves.toBeUndefined();
    expect(d.stats().asyncPersists - before.asyncPersists).toBe(1);
    d.close();
    expect(same(reopenRead(s.file('dev'), PAGE + 5, 3 * PAGE + 11), pattern(3 * PAGE + 11, 9))).toBe(true);
  });

  it.each([
    ['an offset past the end', (d: Device) => d.writeAsync(4 * MiB, new Uint8Array(1)), 'ERR_OUT_OF_RANGE'],
    ['a negative offset', (d: Device) => d.writeAsync(-1, new Uint8Array(1)), 'ERR_OUT_OF_RANGE'],
    ['not bytes', (d: Device) => d.writeAsync(0, 'abc' as unknown as Uint8Array), 'ERR_INVALID_ARG_TYPE'],
    ['a closed device', (d: Device) => (d.close(), d.writeAsync(0, new Uint8Array(1))), 'ERR_PMEMDAX_CLOSED'],
  ])('rejects (never throws) on %s', async (_name, call, code) => {
    s = scratchDir(tmpdir());
    await rejectsWithoutThrowing(s, call, code);
  });

  it('cacheline (forced, /dev/shm): a durable copy made before it returns, no job', async () => {
    s = scratchDir('/dev/shm');
    const d = withEnv({ PMEMDAX_FORCE_GRANULARITY: 'cacheline' }, () => Device.open(s.file('dev'), { create: true, size: 4 * MiB }));
    const data = pattern(5000, 3);
    const done = d.writeAsync(64, data);
    const now = new Uint8Array(5000);
    d.copySafe(64, now);
    expect(same(now, data)).toBe(true);
    await expect(done).resolves.toBeUndefined();
    expect(d.stats().asyncPersists).toBe(0);
    d.close();
  });
});

describe('writeRangesAsync', () => {
  let s: ReturnType<typeof scratchDir>;
  afterEach(() => s.cleanup());

  it('page granularity: the bytes fill the leading ranges in order, every range is written back, in one job', async () => {
    s = scratchDir(tmpdir());
    const d = Device.open(s.file('dev'), { create: true, size: 4 * MiB });
    const before = d.stats();
    const src = pattern(3000, 4);
    const done = d.writeRangesAsync(Float64Array.of(2 * PAGE, 1000, 10, 2000, 3 * PAGE, 4096), src);
    src.fill(0); // taken at the call
    await expect(done).resolves.toBeUndefined();
    expect(d.stats().asyncPersists - before.asyncPersists).toBe(1);
    d.close();
    const want = pattern(3000, 4);
    expect(same(reopenRead(s.file('dev'), 2 * PAGE, 1000), want.subarray(0, 1000))).toBe(true);
    expect(same(reopenRead(s.file('dev'), 10, 2000), want.subarray(1000))).toBe(true);
  });

  it('{ writeBack: false } only stores; ranges given as objects work too', async () => {
    s = scratchDir(tmpdir());
    const d = Device.open(s.file('dev'), { create: true, size: 4 * MiB });
    await d.writeRangesAsync([{ offset: PAGE, length: 5 }], new Uint8Array(5).fill(7), { writeBack: false });
    const got = new Uint8Array(5);
    d.copySafe(PAGE, got);
    expect([...got]).toEqual([7, 7, 7, 7, 7]);
    d.close();
  });

  it.each([
    ['bytes that end inside a range', (d: Device) => d.writeRangesAsync(Float64Array.of(0, 10), new Uint8Array(5)), 'ERR_OUT_OF_RANGE'],
    ['bytes past the last range', (d: Device) => d.writeRangesAsync(Float64Array.of(0, 10), new Uint8Array(11)), 'ERR_OUT_OF_RANGE'],
    ['a range past the end', (d: Device) => d.writeRangesAsync(Float64Array.of(4 * MiB, 1), new Uint8Array(1)), 'ERR_OUT_OF_RANGE'],
    ['odd pairs', (d: Device) => d.writeRangesAsync(Float64Array.of(0, 1, 2), new Uint8Array(1)), 'ERR_OUT_OF_RANGE'],
    ['ranges not an array', (d: Device) => d.writeRangesAsync(5 as unknown as Float64Array, new Uint8Array(1)), 'ERR_INVALID_ARG_TYPE'],
    ['not bytes', (d: Device) => d.writeRangesAsync(Float64Array.of(0, 3), 'abc' as unknown as Uint8Array), 'ERR_INVALID_ARG_TYPE'],
    ['a writeBack that is not a boolean', (d: Device) => d.writeRangesAsync(Float64Array.of(0, 1), new Uint8Array(1), { writeBack: 1 as unknown as boolean }), 'ERR_INVALID_ARG_TYPE'],
    ['a closed device', (d: Device) => (d.close(), d.writeRangesAsync(Float64Array.of(0, 1), new Uint8Array(1))), 'ERR_PMEMDAX_CLOSED'],
  ])('rejects (never throws) on %s', async (_name, call, code) => {
    s = scratchDir(tmpdir());
    await rejectsWithoutThrowing(s, call, code);
  });

  it('cacheline (forced, /dev/shm): durable copies made before it returns, no job', async () => {
    s = scratchDir('/dev/shm');
    const d = withEnv({ PMEMDAX_FORCE_GRANULARITY: 'cacheline' }, () => Device.open(s.file('dev'), { create: true, size: 4 * MiB }));
    const done = d.writeRangesAsync(Float64Array.of(64, 3, 4096, 2, 8192, 100), new Uint8Array([1, 2, 3, 4, 5]));
    const now = new Uint8Array(5);
    d.copySafe(64, now.subarray(0, 3));
    d.copySafe(4096, now.subarray(3));
    expect([...now]).toEqual([1, 2, 3, 4, 5]);
    await expect(done).resolves.toBeUndefined();
    expect(d.stats().asyncPersists).toBe(0);
    d.close();
  });
});
