import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runNode, scratchPerTest } from '../support/scratch';

const PRELUDE = `
  const dist = ${JSON.stringify(`${PROJECT_ROOT}/dist`)};
  const { Device } = require(dist + '/index.js');
  const { MemFs, memFsFile } = require(dist + '/testing/index.js');
  const PAGE = 4096;
`;

describe('region lifecycle (child processes)', () => {
  const s = scratchPerTest('/dev/shm');

  it('a process may exit with regions still mapped and traps armed; what it synced is in the device', () => {
    const path = s.file('dev');
    const r = runNode(`${PRELUDE}
      (async () => {
        const device = Device.open(process.argv[1], { create: true, size: 64 * PAGE });
        const fs = new MemFs(device);
        const inode = fs.create();
        await fs.truncate(inode, 4 * PAGE);
        const file = memFsFile(fs, inode);
        const region = file.mmap({ length: 4 * PAGE });
        await region.populate({}, 'write');
        region.bytes.set(Buffer.from('synced'), 0);
        await file.fsync();
        region.bytes.set(Buffer.from('trapped'), 100); // armed again by the fsync: this store traps
        process.stdout.write(String(inode.blockAt(0)));
        process.exit(0);
      })();`, [path]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const block = Number(r.stdout);
    const bytes = readFileSync(path).subarray(block * 4096, block * 4096 + 107);
    expect(bytes.subarray(0, 6).toString()).toBe('synced');
    expect(bytes.subarray(100, 107).toString()).toBe('trapped'); // shared memory: the store reached the page
  });

  it('a closed file unmaps its regions: their bytes are detached and faults refuse', () => {
    const r = runNode(`${PRELUDE}
      (async () => {
        const device = Device.open(process.argv[1], { create: true, size: 64 * PAGE });
        const fs = new MemFs(device);
        const inode = fs.create();
        await fs.truncate(inode, PAGE);
        const file = memFsFile(fs, inode);
        const region = file.mmap({ length: PAGE });
        await region.populate();
        file.close();
        let code = 'none';
        try { await region.populate(); } catch (e) { code = e.code; }
        process.stdout.write([region.bytes.length, region.unmapped, code, inode.mapping.pageTables === null].join(' '));
      })();`, [s.file('dev2')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0 true ERR_PMEMDAX_CLOSED true');
  });
});
