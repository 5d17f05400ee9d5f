import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runNode, scratchPerTest } from '../support/scratch';

// Issue 13 item 6: a region over 4 GiB aborted the process (double free inside ArrayBuffer creation), and
// the trap state of a reservation was allocated and touched a byte per page up front. Each length runs in
// a child process, so an abort is a failed test rather than a dead runner.
const LENGTHS = [2 ** 32 - 4096, 2 ** 32, 2 ** 32 + 4096, 2 ** 33, 2 ** 40, 2 ** 53] as const;
const FITS = (length: number): boolean => length <= 2 ** 32;

const PRELUDE = `
  const dist = ${JSON.stringify(`${PROJECT_ROOT}/dist`)};
  const { Device } = require(dist + '/index.js');
  const { AddressSpace } = require(dist + '/fs.js');
  const { native } = require(dist + '/native.js');
  const { MemFs, memFsFile } = require(dist + '/testing/index.js');
  // The class by its identity: pmemdax's misuse errors are subclasses of RangeError and TypeError.
  const kind = (e) => [RangeError, TypeError].find((c) => e instanceof c)?.name ?? e.constructor.name;
  const outcome = (fn) => { try { const r = fn(); return 'ok ' + r; } catch (e) { return e.code + ' ' + kind(e); } };
`;

describe('regions of every size: they work or fail with ERR_OUT_OF_RANGE, never abort (child processes)', () => {
  const s = scratchPerTest('/dev/shm');

  it.each(LENGTHS)('length %d through DaxFile.mmap, AddressSpace and NativeRegion', (length) => {
    const r = runNode(`${PRELUDE}
      const device = Device.open(process.argv[1], { create: true, size: 4 << 20 });
      const fs = new MemFs(device);
      const file = memFsFile(fs, fs.create());
      const length = Number(process.argv[2]);
      console.log(outcome(() => { const region = file.mmap({ length }); const n = region.bytes.length; region.unmap(); return n; }));
      console.log(outcome(() => { const as = new AddressSpace(length); const n = as.bytes.length; as.unmap(); return n; }));
      console.log(outcome(() => { const r = new native.NativeRegion(length, 4096, 4096); const n = r.buffer().byteLength; r.unmap(); return n; }));
    `, [s.file('dev'), String(length)]);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const want = FITS(length) ? `ok ${length}` : 'ERR_OUT_OF_RANGE RangeError';
    expect(r.stdout.trim().split('\n')).toEqual([want, want, want]);
  });

  it('device windows: the native layer refuses window sizes V8 cannot hold (0, over 4 GiB) instead of aborting', () => {
    const r = runNode(`${PRELUDE}
      Device.open(process.argv[1], { create: true, size: 4 << 20 }).close();
      for (const windowBytes of [0, 2 ** 33, 2 ** 32]) {
        const d = new native.NativeDevice(process.argv[1], false, 0, false, windowBytes, 0, true, 0o666);
        console.log(outcome(() => d.window(0).byteLength));
        d.close();
      }
    `, [s.file('dev')]);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['ERR_OUT_OF_RANGE RangeError', 'ERR_OUT_OF_RANGE RangeError', `ok ${4 << 20}`]);
  });

  it('trap state follows the pages armed, not the address space reserved', () => {
    // Eight 4 GiB reservations: a byte per page of state would be 8 MiB of touched memory. Arming one
    // page makes the state of its 2 MiB; the traps still fire, log and harvest in order.
    const r = runNode(`${PRELUDE}
      const device = Device.open(process.argv[1], { create: true, size: 4 << 20 });
      const spaces = [];
      const before = process.memoryUsage.rss();
      for (let i = 0; i < 8; i++) spaces.push(new native.NativeRegion(2 ** 32, 2 << 20, 4096));
      const grown = process.memoryUsage.rss() - before;
      console.log(grown < (2 << 20) ? 'small' : 'grew ' + grown);
      const as = new AddressSpace(2 ** 32, 2 << 20);
      as.mapDevice(2 ** 31, device, 0, 4096, 'trap');
      as.mapDevice(2 ** 32 - 4096, device, 4096, 4096, 'trap');
      as.bytes[2 ** 32 - 10] = 1;
      as.bytes[2 ** 31 + 5] = 2;
      console.log(as.writeTraps, as.harvestWrites().join(','));
      console.log(device.readSafe(4096 - 10 + 4096, 1)[0], device.readSafe(5, 1)[0]);
    `, [s.file('dev')]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['small', `2 ${2 ** 32 - 4096},${2 ** 31}`, '1 2']);
  });
});
