import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, runNode, scratchPerTest } from '../support/scratch';

// Issue 13 item 8: copySafe into a directAccess view of a read-only device (or any page mapped without
// write access) stored through native code and killed the process with SIGSEGV. The library's copies
// now refuse memory the process cannot store to (targets) or load from (sources) with
// ERR_PMEMDAX_READONLY; memory they can reach still works.

const PRELUDE = `
  const dist = ${JSON.stringify(`${PROJECT_ROOT}/dist`)};
  const { Device } = require(dist + '/index.js');
  const { AddressSpace } = require(dist + '/fs.js');
  const { MemFs, memFsFile } = require(dist + '/testing/index.js');
  const PAGE = 4096;
  const writable = Device.open(process.argv[1], { create: true, size: 4 << 20 });
  writable.fill(0, 0x5a, 4 << 20);
  const readonly = Device.open(process.argv[1], { readonly: true });
  const as = new AddressSpace(16 * PAGE);
  as.mapDevice(0 * PAGE, writable, 0, PAGE, 'read');
  as.mapDevice(1 * PAGE, writable, PAGE, PAGE, 'write');
  as.mapDevice(2 * PAGE, writable, 2 * PAGE, PAGE, 'trap');
  as.mapZero(3 * PAGE, PAGE);
  as.mapAnonymous(4 * PAGE, PAGE);
  as.mapDevice(5 * PAGE, writable, 5 * PAGE, PAGE, 'write');
  as.protect(5 * PAGE, PAGE, 'read');
  as.mapAnonymous(6 * PAGE, PAGE);
  as.release(6 * PAGE, PAGE);
  // page 7 never mapped
  as.mapDevice(8 * PAGE, readonly, 8 * PAGE, PAGE, 'read');
  const page = (n, length = PAGE) => new Uint8Array(as.bytes.buffer, n * PAGE, length);
  const outcome = (fn) => { try { fn(); return 'ok'; } catch (e) { return e.code; } };
`;

// What a copy into (copySafe) or out of (copy) each kind of memory must do.
const VIEWS = {
  'a directAccess view of a read-only device': { expr: 'readonly.directAccess(1, 2).view', store: 'refused', load: 'ok' },
  'a directAccess view of a writable device': { expr: 'writable.directAccess(1, 2).view', store: 'ok', load: 'ok' },
  'address-space device pages mapped read': { expr: 'page(0)', store: 'refused', load: 'ok' },
  'address-space device pages mapped write': { expr: 'page(1)', store: 'ok', load: 'ok' },
  'address-space trap pages (the store is caught and allowed)': { expr: 'page(2)', store: 'ok', load: 'ok' },
  'address-space zero pages': { expr: 'page(3)', store: 'refused', load: 'ok' },
  'address-space anonymous pages': { expr: 'page(4)', store: 'ok', load: 'ok' },
  'address-space pages protected read': { expr: 'page(5)', store: 'refused', load: 'ok' },
  'address-space released pages': { expr: 'page(6)', store: 'refused', load: 'refused' },
  'address-space pages never mapped': { expr: 'page(7)', store: 'refused', load: 'refused' },
  'address-space pages of a read-only device': { expr: 'page(8)', store: 'refused', load: 'ok' },
  'a view over a writable page and a read-only one': { expr: 'page(4, 2 * PAGE)', store: 'refused', load: 'ok' },
  'a view over a readable page and a never-mapped one': { expr: 'page(6, 2 * PAGE)', store: 'refused', load: 'refused' },
  'an ordinary Uint8Array': { expr: 'new Uint8Array(PAGE)', store: 'ok', load: 'ok' },
} as const;

describe('library copies refuse memory the process cannot reach (child process)', () => {
  const s = scratchPerTest('/dev/shm');

  it('copySafe targets and copy sources, over every kind of view', () => {
    const cases = Object.entries(VIEWS)
      .map(([name, v]) => `[${JSON.stringify(name)}, () => ${v.expr}]`)
      .join(',\n');
    const r = runNode(`${PRELUDE}
      const out = {};
      for (const [name, view] of [${cases}]) {
        out[name] = {
          store: outcome(() => writable.copySafe(3 * PAGE, view())),
          load: outcome(() => writable.copy(12 * PAGE, view())),
        };
      }
      // The library's readers: holes are zero-filled from JavaScript, data is copied by copySafe.
      const { Pool } = require(dist + '/index.js');
      const fs = new MemFs(writable);
      const inode = fs.create();
      inode.size = 3 * PAGE;
      const pool = Pool.create(process.argv[1] + '.pool', { size: 1 << 20 });
      const file = pool.open('f', { create: true });
      file.writeSync(new Uint8Array(PAGE).fill(7), 0);
      file.writeSync(new Uint8Array(PAGE).fill(8), 3 * PAGE); // leaves a hole at pages 1-2
      const target = () => readonly.directAccess(0, 1).view;
      out.readers = {
        memfsHole: outcome(() => fs.read(inode, 0, target())),
        poolData: outcome(() => file.readSync(target(), 0)),
        poolHole: outcome(() => file.readSync(target(), 2 * PAGE)),
        poolWritable: outcome(() => file.readSync(writable.directAccess(0, 1).view, 0)),
      };
      (async () => { await file.close(); await pool.close(); console.log(JSON.stringify(out)); })();
    `, [s.file('dev')]);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { store: string; load: string }> & { readers: unknown };
    const want = (v: 'ok' | 'refused'): string => (v === 'ok' ? 'ok' : 'ERR_PMEMDAX_READONLY');
    for (const [name, v] of Object.entries(VIEWS)) {
      expect({ name, ...out[name] }).toEqual({ name, store: want(v.store), load: want(v.load) });
    }
    expect(out.readers).toEqual({ memfsHole: 'ERR_PMEMDAX_READONLY', poolData: 'ERR_PMEMDAX_READONLY', poolHole: 'ERR_PMEMDAX_READONLY', poolWritable: 'ok' });
  });

  it('a raw store into a read-only view still kills the process: the library cannot guard it (documented)', () => {
    const r = runNode(`${PRELUDE}
      readonly.directAccess(0, 1).view[0] = 1;
      console.log('survived');
    `, [s.file('dev')]);
    expect(r.signal).toBe('SIGSEGV');
    expect(r.stdout).toBe('');
  });
});
