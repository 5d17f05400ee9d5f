import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CopyFlags, Device, type Granularity } from '../../lib/index';
import { MiB, PROJECT_ROOT, scratchDir, withEnv } from '../support/scratch';

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}

const GRANULARITIES: Granularity[] = ['page', 'cacheline', 'byte'];

describe.each(GRANULARITIES)('persistence primitives at %s granularity (forced, /dev/shm)', (granularity) => {
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

  it('reports the forced granularity and the matching flush method', () => {
    expect(d.info.granularity).toBe(granularity);
    const expected = { page: 'msync', byte: 'none', cacheline: d.info.flush }[granularity];
    expect(d.info.flush).toBe(expected);
    if (granularity === 'cacheline') expect(['clwb', 'clflushopt', 'clflush']).toContain(d.info.flush);
    if (granularity !== 'page') expect(d.info.notes.join()).toMatch(/PMEMDAX_FORCE_GRANULARITY/);
    expect(d.info.notes.some((n) => /written with pwrite/.test(n))).toBe(granularity === 'page');
  });

  it('copy of every size class lands byte-exact, at aligned and unaligned offsets', () => {
    for (const size of [1, 63, 64, 65, 255, 256, 257, 4096, 65537, 2 * MiB]) {
      for (const offset of [0, 1, 63, 4095]) {
        const data = pattern(size, size + offset);
        d.copy(offset, data);
        expect(Buffer.compare(Buffer.from(d.readSafe(offset, size)), Buffer.from(data))).toBe(0);
      }
    }
  });

  it('copy with each flag combination writes the same bytes', () => {
    const flagSets = [0, CopyFlags.NODRAIN, CopyFlags.NOFLUSH, CopyFlags.NONTEMPORAL, CopyFlags.TEMPORAL,
      CopyFlags.NONTEMPORAL | CopyFlags.NODRAIN, CopyFlags.NOFLUSH | CopyFlags.NODRAIN];
    flagSets.forEach((flags, i) => {
      for (const size of [8, 100, 300, 5000]) {
        const data = pattern(size, i);
        d.copy(1000 + i, data, flags);
        if (flags & (CopyFlags.NOFLUSH | CopyFlags.NODRAIN)) d.persist(1000 + i, size);
        expect(Buffer.from(d.readSafe(1000 + i, size)).equals(Buffer.from(data))).toBe(true);
      }
    });
  });

  it('move handles overlapping ranges in both directions', () => {
    const data = pattern(10000, 3);
    d.copy(0, data);
    d.move(100, 0, 10000);
    expect(Buffer.from(d.readSafe(100, 10000)).equals(Buffer.from(data))).toBe(true);
    d.move(50, 100, 10000, CopyFlags.NONTEMPORAL);
    expect(Buffer.from(d.readSafe(50, 10000)).equals(Buffer.from(data))).toBe(true);
  });

  it('fill sets exactly the range', () => {
    d.fill(0, 0, 20000);
    d.fill(17, 0xee, 9000);
    const back = d.readSafe(0, 20000);
    expect(back[16]).toBe(0);
    expect(back.subarray(17, 9017).every((b) => b === 0xee)).toBe(true);
    expect(back[9017]).toBe(0);
    d.fill(3, 0x11, 5, CopyFlags.NONTEMPORAL | CopyFlags.NODRAIN);
    d.drain();
    expect(d.readSafe(3, 5)).toEqual(new Uint8Array(5).fill(0x11));
  });

  it('persisted data is in the file for any other reader', () => {
    const data = pattern(3000, 9);
    d.copy(8192, data);
    const onDisk = readFileSync(s.file('dev')).subarray(8192, 8192 + 3000);
    expect(Buffer.compare(onDisk, Buffer.from(data))).toBe(0);
  });

  it('flush, drain, persist and persistRanges count their work in stats', () => {
    const before = d.stats();
    const view = d.directAccess(0, 4).view;
    view.fill(0x42, 0, 640);
    d.flush(0, 640);
    d.drain();
    d.persist(64, 64);
    d.persistRanges([{ offset: 0, length: 64 }, { offset: 4096, length: 128 }]);
    d.persistRanges(new Float64Array([0, 1, 8192, 1]));
    d.persist(60, 8); // straddles two lines
    const after = d.stats();
    if (granularity === 'cacheline') {
      // 640 bytes = 10 lines, then 1, then 1 + 2, then 1 + 1, then 2.
      expect(after.flushedLines - before.flushedLines).toBe(18);
    } else {
      expect(after.flushedLines).toBe(before.flushedLines);
    }
    if (granularity === 'page') expect(after.msyncs - before.msyncs).toBe(7);
    else expect(after.drains - before.drains).toBe(5);
  });
});

describe('page granularity on an ordinary file: copies and fills are written with pwrite', () => {
  let s: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    s = scratchDir();
  });
  afterEach(() => s.cleanup());

  it('each durable copy or fill is one msync, and the bytes are in the file and the mapping', () => {
    const d = Device.open(s.file('dev'), { create: true, size: 1 * MiB });
    try {
      expect(d.info.granularity).toBe('page');
      const before = d.stats().msyncs;
      d.copy(4096 + 10, pattern(5000, 3));
      d.fill(200_000, 0x5a, 70_000); // more than one pwrite chunk
      d.copy(0, pattern(64, 9), CopyFlags.NOFLUSH);
      expect(d.stats().msyncs - before).toBe(2);
      d.persist(0, 64);
      const file = readFileSync(s.file('dev'));
      expect(file.subarray(4096 + 10, 4096 + 5010)).toEqual(Buffer.from(pattern(5000, 3)));
      expect(file.subarray(200_000, 270_000).every((b) => b === 0x5a)).toBe(true);
      expect([file[199_999], file[270_000]]).toEqual([0, 0]);
      expect(d.directAccess(0, 1).view.subarray(0, 64)).toEqual(pattern(64, 9));
    } finally {
      d.close();
    }
  });

  it('a write the kernel refuses is an fs-style error naming pwrite and the range, and the rest of the file is untouched', () => {
    const path = s.file('limited');
    writeFileSync(path, Buffer.alloc(256 * 1024, 0x11));
    // RLIMIT_FSIZE of 64 KiB (ulimit -f counts 512-byte blocks in sh): pwrite past it fails with EFBIG
    // (SIGXFSZ ignored), where a store through the mapping would not be checked at all.
    const script = `const { Device } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
      const d = Device.open(process.argv[1]);
      d.copy(4096, new Uint8Array(4096).fill(0x22));
      try { d.copy(128 * 1024, new Uint8Array(4096).fill(0x33)); } catch (e) {
        console.log(JSON.stringify({ code: e.code, syscall: e.syscall, path: e.path, offset: e.offset, length: e.length }));
      }
      d.close();`;
    const r = spawnSync('sh', ['-c', 'trap "" XFSZ; ulimit -f 128; exec "$0" -e "$1" -- "$2"', process.execPath, script, path], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ code: 'EFBIG', syscall: 'pwrite', path, offset: 128 * 1024, length: 4096 });
    const file = readFileSync(path);
    expect(file.subarray(4096, 8192).every((b) => b === 0x22)).toBe(true);
    expect(file.subarray(0, 4096).every((b) => b === 0x11)).toBe(true);
    expect(file.subarray(8192).every((b) => b === 0x11)).toBe(true);
  });
});
