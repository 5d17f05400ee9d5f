import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runNode, scratchPerTest } from '../support/scratch';

// Issue 14 item 2: NativeRegion.mapDevice unwrapped whatever object it was given as a NativeDevice; another
// wrapped object (a NativeRegion) was then read as one. The device's N-API type tag is checked first now.
// In a child process, so that a regression is a failed test rather than a dead runner.
const PRELUDE = `
  const dist = ${JSON.stringify(`${PROJECT_ROOT}/dist`)};
  const { Device } = require(dist + '/index.js');
  const { native } = require(dist + '/native.js');
  const outcome = (fn) => { try { fn(); return 'ok'; } catch (e) { return e.code + ' ' + (e instanceof TypeError ? 'TypeError' : 'Error'); } };
`;

describe('NativeRegion.mapDevice checks that its device is a NativeDevice', () => {
  const s = scratchPerTest('/dev/shm');

  it('refuses other objects (a region, a plain object, a number) and takes a real device, open or closed', () => {
    const r = runNode(`${PRELUDE}
      Device.open(process.argv[1], { create: true, size: 4 << 20 }).close();
      const region = new native.NativeRegion(1 << 20, 4096, 4096);
      const other = new native.NativeRegion(1 << 20, 4096, 4096);
      const device = new native.NativeDevice(process.argv[1], false, 0, false, 1 << 30, 0, true, 0o666);
      console.log(outcome(() => region.mapDevice(0, other, 0, 4096, 1)));
      console.log(outcome(() => region.mapDevice(0, {}, 0, 4096, 1)));
      console.log(outcome(() => region.mapDevice(0, 7, 0, 4096, 1)));
      console.log(outcome(() => region.mapDevice(0, device, 0, 4096, 1)));
      device.close();
      console.log(outcome(() => region.mapDevice(4096, device, 0, 4096, 1)));
      region.unmap();
      other.unmap();
    `, [s.file('dev')]);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      'ERR_INVALID_ARG_TYPE TypeError',
      'ERR_INVALID_ARG_TYPE TypeError',
      'ERR_INVALID_ARG_TYPE TypeError',
      'ok',
      'ERR_PMEMDAX_CLOSED Error',
    ]);
  });
});
