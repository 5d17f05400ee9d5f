import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Device, Pool } from '../../lib/index';
import { readMeta } from '../../lib/pool/meta-io';
import { HOST_MEDIA, MiB, scratchDir, withEnv } from '../support/scratch';
import { expectFault, storeTable, thrown, type FaultExpectation } from './support/store-table';

// A store through the mapping to a page the file no longer has (truncated by another open) or to a hole
// a full filesystem cannot fill raises SIGBUS. Every write method must turn it into an error and leave the
// process alive; the table runs in this process, so a single unguarded store ends the whole file's run.
const PAGE = 4096;
const SIZE = 4 * MiB;
const CUT = 1 * MiB; // the file is truncated to this many bytes under the mapping

describe.each(HOST_MEDIA)('writes through the mapping of a $name that lost its pages', (medium) => {
  let s: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    s = scratchDir(medium.dir());
  });
  afterEach(() => s.cleanup());

  describe.each(['cacheline', 'byte'] as const)('at %s granularity', (granularity) => {
    const cases = storeTable(CUT, granularity);
    it.each(cases.map((c) => [c.name, c] as const))('%s: EIO naming the lost mapping, offset set, the bytes before written', (_name, c) => {
      using d = withEnv({ PMEMDAX_FORCE_GRANULARITY: granularity }, () => Device.open(s.file('dev'), { create: true, size: SIZE }));
      expect(d.info.granularity).toBe(granularity);
      d.fill(0, 0x11, SIZE);
      const fd = openSync(s.file('dev'), 'r+');
      try {
        ftruncateSync(fd, CUT);
        const error = thrown(() => c.run(d));
        expectHostFault(error, c.expect, 'EIO', /the mapping is gone: the file was truncated to 1048576 bytes/);
        if (c.written) expect(c.written.check(d.readSafe(c.written.offset, c.written.length))).toBe(true);
        // The device still works where the file still has its pages.
        d.copy(0, new Uint8Array([9, 8, 7]));
        expect(Array.from(d.readSafe(0, 3))).toEqual([9, 8, 7]);
      } finally {
        closeSync(fd);
      }
    });
  });

  it('at page granularity move (which stores through the mapping) and copySafe fail the same way', () => {
    using d = Device.open(s.file('dev'), { create: true, size: SIZE });
    expect(d.info.granularity).toBe('page');
    const fd = openSync(s.file('dev'), 'r+');
    try {
      ftruncateSync(fd, CUT);
      expectHostFault(thrown(() => d.move(CUT - PAGE, 0, 2 * PAGE)), { offset: CUT, syscall: 'write' }, 'EIO', /the mapping is gone/);
      expectHostFault(thrown(() => d.readSafe(CUT + 100, 10)), { offset: CUT + 100, syscall: 'read' }, 'EIO', /the mapping is gone/);
    } finally {
      closeSync(fd);
    }
  });

  it("the pool's metadata reads over a lost page name the lost mapping, not poison", () => {
    using d = Device.open(s.file('dev'), { create: true, size: SIZE });
    const fd = openSync(s.file('dev'), 'r+');
    try {
      ftruncateSync(fd, CUT);
      const error = thrown(() => readMeta(d, s.file('dev'), CUT - 16, 32, 'journal'));
      expect(error).toMatchObject({ code: 'EIO', offset: CUT });
      expect((error as Error).message).toMatch(/reading the journal .* at offset 1048576 \(the mapping is gone \(file truncated or space exhausted\)\)$/);
    } finally {
      closeSync(fd);
    }
  });

  it("a pool's writes through a device whose file was truncated fail with EIO instead of killing the process", () => {
    const path = s.file('pool');
    const pool = withEnv({ PMEMDAX_FORCE_GRANULARITY: 'cacheline' }, () => Pool.create(path, { size: 8 * MiB }));
    const file = pool.open('f', { create: true });
    file.writeSync(new Uint8Array(4096).fill(1), 0);
    const fd = openSync(path, 'r+');
    try {
      ftruncateSync(fd, 64 * 1024);
      const error = thrown(() => {
        for (let i = 0; i < 64; i++) file.writeSync(new Uint8Array(64 * 1024).fill(2), i * 64 * 1024);
        pool.sync();
      });
      expect(error).toMatchObject({ code: 'EIO' });
    } finally {
      closeSync(fd);
      try {
        pool.closeSync();
      } catch {
        // Closing writes too, into the same lost pages: its error is not what this test is about.
      }
    }
  });
});

// A tiny tmpfs whose space a filler file takes, under a sparse device file: stores into its holes fault.
// Mounting needs root; elsewhere these cases skip.
describe.skipIf(process.getuid?.() !== 0)('stores into a hole of a file on a full filesystem (a 1 MiB tmpfs)', () => {
  let mountPoint = '';
  let mounted = false;
  beforeAll(() => {
    mountPoint = mkdtempSync(join(tmpdir(), 'pmemdax-full-fs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'none', mountPoint], { stdio: 'ignore' });
      mounted = true;
    } catch {
      // No mount here (a container without CAP_SYS_ADMIN): the cases skip.
    }
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    rmSync(mountPoint, { recursive: true, force: true });
  });

  // The first 768 KiB of the device have blocks; the rest of its 4 MiB are holes the full filesystem cannot
  // fill.
  const ALLOCATED = 768 * 1024;
  describe.each(['cacheline', 'byte'] as const)('at %s granularity', (granularity) => {
    const cases = storeTable(ALLOCATED, granularity).filter((c) => c.stores);
    it.for(cases.map((c) => [c.name, c] as const))('%s: ENOSPC with the offset of the hole, the bytes before written', ([, c], ctx) => {
      if (!mounted) ctx.skip();
      const path = join(mountPoint, 'dev');
      const fd = openSync(path, 'w+');
      ftruncateSync(fd, SIZE);
      writeSync(fd, new Uint8Array(ALLOCATED).fill(0x11), 0, ALLOCATED, 0);
      closeSync(fd);
      fillFilesystem(join(mountPoint, 'filler'));
      try {
        using d = withEnv({ PMEMDAX_FORCE_GRANULARITY: granularity }, () => Device.open(path));
        const error = thrown(() => c.run(d));
        expectHostFault(error, c.expect, 'ENOSPC', /a store into a hole of the file found its filesystem full/);
        if (c.written) expect(c.written.check(d.readSafe(c.written.offset, c.written.length))).toBe(true);
      } finally {
        rmSync(path, { force: true });
        rmSync(join(mountPoint, 'filler'), { force: true });
      }
    });
  });
});

function fillFilesystem(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = new Uint8Array(PAGE);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

/** As the shared check, and no lost mapping on the host is ever called poison. */
function expectHostFault(error: unknown, expected: FaultExpectation, code: string, words: RegExp): void {
  expectFault(error, expected, code, words);
  expect((error as Error).message).not.toMatch(/poison/);
}
