import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runNode, scratchPerTest } from '../../support/scratch';

// The child loads the built library from dist/ (built by the native project's global setup).
const PRELUDE = `
  const dist = ${JSON.stringify(`${PROJECT_ROOT}/dist`)};
  const { Device } = require(dist + '/index.js');
  const { MemFs, memFsFile } = require(dist + '/testing/index.js');
  const PAGE = 4096;
  const say = (...a) => process.stdout.write(a.join(' ') + '\\n');
  async function setup(path) {
    const device = Device.open(path, { create: true, size: 64 * PAGE });
    const fs = new MemFs(device);
    const a = fs.create('/a');
    await fs.write(a, 0, new Uint8Array(2 * PAGE).fill(0x41));
    // Fill the rest of the device so the allocator wraps and reuses a's blocks next.
    await fs.write(fs.create('/filler'), 0, new Uint8Array(62 * PAGE).fill(0x46));
    const file = memFsFile(fs, a);
    const region = file.mmap({ length: 2 * PAGE });
    await region.populate({}, 'write');
    say('before', region.bytes[0].toString(16));
    return { fs, a, file, region, blocks: [a.blockAt(0), a.blockAt(1)] };
  }
  async function reuse(fs, blocks) {
    const b = fs.create('/b');
    await fs.write(b, 0, new Uint8Array(2 * PAGE).fill(0x53));
    say('reused', b.blockAt(0) === blocks[0] && b.blockAt(1) === blocks[1]);
  }
`;

/** Device path for the child: a file inside the chosen device directory. */
function devicePath(dir: string): string {
  return `${dir}/dev`;
}

/**
 * describeRegionSecurity -- truncate and punch under a mapped region, in child processes, with the
 * device file created in directory `dir` (/dev/shm, or a dax filesystem's mount point).
 */
export function describeRegionSecurity(dir: string): void {
describe(`security: a region cannot reach blocks its file gave up (child processes, ${dir})`, () => {
  const s = scratchPerTest(dir);

  it('after truncate, a fault there is SIGBUS (beyond EOF) and a raw load of the old page kills the process with SIGSEGV, even once the blocks hold another file', () => {
    const r = runNode(`${PRELUDE}
      (async () => {
        const { fs, a, region, blocks } = await setup(process.argv[1]);
        await fs.truncate(a, 0);
        await reuse(fs, blocks);
        try { await region.fault(0); say('fault ok'); } catch (e) { say('fault', e.code); }
        say('state', region.pageState(0), region.pageState(1));
        say('load', region.bytes[PAGE].toString(16));
      })();`, [devicePath(s.dir)]);
    expect(r.stdout.split('\n')).toEqual(['before 41', 'reused true', 'fault ERR_PMEMDAX_SIGBUS', 'state 0 0', '']);
    expect(r.signal).toBe('SIGSEGV');
  });

  it('after punch, the range reads as the zero page once faulted again, never the data of the new owner, and a raw store to it kills the process with SIGSEGV', () => {
    const r = runNode(`${PRELUDE}
      (async () => {
        const { fs, a, region, blocks } = await setup(process.argv[1]);
        await fs.punch(a, 0, 2 * PAGE);
        say('state', region.pageState(0), region.pageState(1));
        await reuse(fs, blocks);
        await region.populate();
        say('state', region.pageState(0), region.pageState(1));
        say('reads', region.bytes[0], region.bytes[PAGE + 7]);
        region.bytes[0] = 1;
        say('stored');
      })();`, [devicePath(s.dir)]);
    expect(r.stdout.split('\n')).toEqual(['before 41', 'state 0 0', 'reused true', 'state 1 1', 'reads 0 0', '']);
    expect(r.signal).toBe('SIGSEGV');
  });
});
}
