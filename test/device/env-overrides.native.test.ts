import { describe, expect, it } from 'vitest';
import { CopyFlags, Device, cpuInfo } from '../../lib/index';
import { MiB, scratchPerTest, withEnv } from '../support/scratch';

// Each override is read when a device is opened, so one process can try them all.
describe('environment overrides', () => {
  const s = scratchPerTest('/dev/shm');

  const open = (env: Record<string, string>, name = 'dev') =>
    withEnv({ PMEMDAX_FORCE_GRANULARITY: 'cacheline', ...env }, () => Device.open(s.file(name), { create: true, size: 4 * MiB }));

  const hw = cpuInfo();
  const best = hw.clwb ? 'clwb' : hw.clflushopt ? 'clflushopt' : 'clflush';

  it('with no override the best flush instruction is used: clwb > clflushopt > clflush', () => {
    using d = open({});
    expect(d.info.flush).toBe(best);
    expect(cpuInfo().flush).toBe(best);
  });

  it('PMEMDAX_NO_CLWB falls back to clflushopt (or clflush), and data still persists', () => {
    using d = open({ PMEMDAX_NO_CLWB: '1' });
    expect(d.info.flush).toBe(hw.clflushopt ? 'clflushopt' : 'clflush');
    d.copy(10, new Uint8Array([1, 2, 3]));
    expect(d.readSafe(10, 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(d.stats().flushedLines).toBe(1);
  });

  it('PMEMDAX_NO_CLWB with PMEMDAX_NO_CLFLUSHOPT uses clflush', () => {
    using d = open({ PMEMDAX_NO_CLWB: '1', PMEMDAX_NO_CLFLUSHOPT: '1' });
    expect(d.info.flush).toBe('clflush');
    d.fill(0, 9, 200);
    expect(d.stats().flushedLines).toBe(4);
  });

  it('an override set to 0 or empty is off', () => {
    using d = open({ PMEMDAX_NO_CLWB: '0', PMEMDAX_NO_CLFLUSHOPT: '' });
    expect(d.info.flush).toBe(best);
  });

  it('PMEMDAX_NO_MOVNT disables non-temporal stores (threshold reported as Infinity) and copies stay exact', () => {
    using d = open({ PMEMDAX_NO_MOVNT: '1' });
    expect(d.info.movntThreshold).toBe(Infinity);
    const data = new Uint8Array(100_000).map((_, i) => i & 0xff);
    d.copy(3, data);
    expect(Buffer.from(d.readSafe(3, data.length)).equals(Buffer.from(data))).toBe(true);
  });

  it('PMEMDAX_MOVNT_THRESHOLD sets the threshold; a non-number is ignored with a note', () => {
    using a = open({ PMEMDAX_MOVNT_THRESHOLD: '4096' }, 'a');
    expect(a.info.movntThreshold).toBe(4096);
    using b = open({ PMEMDAX_MOVNT_THRESHOLD: 'lots' }, 'b');
    expect(b.info.movntThreshold).toBe(256);
    expect(b.info.notes.join()).toMatch(/PMEMDAX_MOVNT_THRESHOLD/);
  });

  it('non-temporal copies flush only the unaligned head and tail lines', () => {
    using d = open({ PMEMDAX_MOVNT_THRESHOLD: '256' });
    d.copy(32, new Uint8Array(64 * 10)); // head 32 B, 9 streamed lines, tail 32 B
    expect(d.stats().flushedLines).toBe(2);
    d.copy(0, new Uint8Array(64), CopyFlags.TEMPORAL);
    expect(d.stats().flushedLines).toBe(3);
  });

  it.each([
    ['PMEMDAX_NO_AVX512', { PMEMDAX_NO_AVX512: '1' }, hw.avx2 ? 'avx2' : 'sse2'],
    ['PMEMDAX_NO_AVX512 + PMEMDAX_NO_AVX2', { PMEMDAX_NO_AVX512: '1', PMEMDAX_NO_AVX2: '1' }, 'sse2'],
  ])('%s selects the %s copy kernel, and it copies and fills exactly', (_name, env, kernel) => {
    using d = open(env as Record<string, string>);
    expect(d.info.copyKernel).toBe(kernel);
    const data = new Uint8Array(3 * 4096 + 77).map((_, i) => (i * 13) & 0xff);
    d.copy(5, data, CopyFlags.NONTEMPORAL);
    expect(Buffer.from(d.readSafe(5, data.length)).equals(Buffer.from(data))).toBe(true);
    d.fill(7, 0x3c, 5000, CopyFlags.NONTEMPORAL);
    expect(d.readSafe(7, 5000).every((b) => b === 0x3c)).toBe(true);
  });

  it('PMEMDAX_FORCE_GRANULARITY rejects an unknown value', () => {
    expect(() => open({ PMEMDAX_FORCE_GRANULARITY: 'word' })).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_BAD_ENV' }));
  });

  it('PMEMDAX_NO_MAP_SYNC is reported as the reason MAP_SYNC is not used', () => {
    using d = open({ PMEMDAX_NO_MAP_SYNC: '1' });
    expect(d.info.mapSync).toBe(false);
    expect(d.info.mapSyncReason).toMatch(/PMEMDAX_NO_MAP_SYNC/);
  });
});
