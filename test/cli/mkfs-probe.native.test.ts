// pmemdax mkfs over each kind of existing content, with and without --force; pmemdax probe on a pool,
// on a locked path and on plain data.
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { MiB, PROJECT_ROOT, scratchDir } from '../support/scratch';
import { runCli } from '../support/cli-run';

/** What is at the path before mkfs runs. `null`: nothing. */
const CONTENTS: readonly { name: string; make: ((p: string) => void) | null; blank: boolean; pool?: boolean }[] = [
  { name: 'nothing', make: null, blank: true },
  { name: 'an empty file', make: (p) => writeFileSync(p, ''), blank: true },
  { name: 'zeros (4 MiB)', make: (p) => writeFileSync(p, Buffer.alloc(4 * MiB)), blank: true },
  { name: 'text', make: (p) => writeFileSync(p, Buffer.concat([Buffer.from('my notes\n'.repeat(1000)), Buffer.alloc(4 * MiB)])), blank: false },
  { name: 'one non-zero byte at 1 MiB - 1', make: (p) => { const b = Buffer.alloc(4 * MiB); b[MiB - 1] = 1; writeFileSync(p, b); }, blank: false },
  { name: 'an ext4 superblock magic', make: (p) => { const b = Buffer.alloc(4 * MiB); b[0x438] = 0x53; b[0x439] = 0xef; writeFileSync(p, b); }, blank: false },
  { name: 'a pmemdax pool', make: (p) => Pool.create(p, { size: 4 * MiB }).closeSync(), blank: false, pool: true },
];

describe('pmemdax mkfs over existing content', () => {
  let s: ReturnType<typeof scratchDir>;
  let path: string;
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    path = s.file('p');
  });
  afterEach(() => s.cleanup());

  // --size matters only where there is no size yet; --force only where there is something to lose.
  const rows = CONTENTS.flatMap((c) => {
    const sizes = c.make === null || c.name === 'an empty file' ? [false, true] : [false];
    const forces = c.blank ? [false] : [false, true];
    return sizes.flatMap((size) => forces.map((force) => ({ ...c, force, size })));
  });
  it.each(rows)('$name, --force $force, --size $size', async ({ make, blank, pool, force, size }) => {
    make?.(path);
    const before = make === null ? null : readFileSync(path);
    const r = await runCli(['mkfs', path, ...(size ? ['--size', '4M'] : []), ...(force ? ['--force'] : [])]);
    const empty = before !== null && before.length === 0;
    if (make === null && !size) {
      expect(r.status).toBe(2); // a new file needs --size
    } else if (empty && !size) {
      expect(r.stderr).toContain('(ERR_PMEMDAX_SIZE)');
      expect(r.status).toBe(1);
    } else if (blank || force) {
      expect(r.status, r.stderr).toBe(0);
      Pool.open(path, { readonly: true }).closeSync();
      return;
    } else {
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(pool ? '(EEXIST)' : '(ERR_PMEMDAX_HAS_DATA)');
      expect(r.stderr).toContain('--force');
    }
    if (before === null) expect(statSync(path, { throwIfNoEntry: false })).toBeUndefined();
    else expect(readFileSync(path).equals(before)).toBe(true);
  });
});

/** A child holding `path` open with a lock until killed; resolves once the lock is held. */
function holdLock(call: string): Promise<{ stop: () => void }> {
  const script = `const { Device, Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
    globalThis.held = ${call}; console.log('held'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve({ stop: () => child.kill('SIGKILL') }));
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
}

describe('pmemdax probe on an existing path', () => {
  let s: ReturnType<typeof scratchDir>;
  let path: string;
  beforeEach(() => {
    s = scratchDir('/dev/shm');
    path = s.file('p');
  });
  afterEach(() => s.cleanup());

  it('on a pool: writes nothing (round trip skipped), exit 0, every byte and the mtime unchanged', async () => {
    Pool.create(path, { size: 4 * MiB }).closeSync();
    const before = readFileSync(path);
    const mtime = statSync(path).mtimeMs;
    const r = await runCli(['probe', path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/persist round trip: skipped \(the path holds a pmemdax pool/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(statSync(path).mtimeMs).toBe(mtime);
  });

  const HOLDERS = [
    { name: 'a pool open for writing', pool: true, call: 'Pool.open(p)' },
    { name: 'a plain file locked exclusive', pool: false, call: "Device.open(p, { lock: 'exclusive' })" },
    { name: 'a plain file locked shared', pool: false, call: "Device.open(p, { lock: 'shared' })" },
  ];
  it.each(HOLDERS)('while $name: exit 4 (ERR_PMEMDAX_POOL_LOCKED), nothing written', async ({ pool, call }) => {
    if (pool) Pool.create(path, { size: 4 * MiB }).closeSync();
    else writeFileSync(path, Buffer.alloc(MiB, 0x3d));
    const holder = await holdLock(call.replace('(p', `(${JSON.stringify(path)}`));
    try {
      const before = readFileSync(path);
      const r = await runCli(['probe', path]);
      expect(r.status, r.stderr).toBe(4);
      expect(r.stderr).toContain('(ERR_PMEMDAX_POOL_LOCKED)');
      expect(readFileSync(path).equals(before)).toBe(true);
    } finally {
      holder.stop();
    }
  });

  it('on a pool a reader holds open (readers take no lock): writes nothing, exit 0', async () => {
    Pool.create(path, { size: 4 * MiB }).closeSync();
    const holder = await holdLock(`Pool.open(${JSON.stringify(path)}, { readonly: true })`);
    try {
      const before = readFileSync(path);
      const r = await runCli(['probe', path]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/persist round trip: skipped \(the path holds a pmemdax pool/);
      expect(readFileSync(path).equals(before)).toBe(true);
    } finally {
      holder.stop();
    }
  });

  it('on plain data, unlocked: rewrites it with its own bytes and round-trips', async () => {
    const data = Buffer.alloc(MiB);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    writeFileSync(path, data);
    const r = await runCli(['probe', path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/persist round trip: ok/);
    expect(readFileSync(path).equals(data)).toBe(true);
  });
});
