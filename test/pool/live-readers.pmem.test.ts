// Readers and backups beside a writer on real pmem (docs/design.md, "Live readers"): the writer and the
// readers are separate processes on a pool on the medium (a file on a dax filesystem, or the whole
// device-dax), whose claims are range locks on that file or character device. Each reader checks every
// snapshot against the writer's history (fixtures/live-window.cjs); backups taken meanwhile (on device-dax
// read from the mapping, which has no read(2)) must check clean and hold a state of that history.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pool as PoolClass, Device as DeviceClass } from '../../lib/index';
import type { Claims as ClaimsClass } from '../../lib/pool/claims';
import { PROJECT_ROOT, pmemMedium } from '../support/pmem';

const medium = pmemMedium;
const load = createRequire(__filename);
const DIST = join(PROJECT_ROOT, 'dist', 'index.js');
const FIXTURE = join(PROJECT_ROOT, 'test', 'pool', 'fixtures', 'live-window.cjs');
const { Pool, Device } = load(DIST) as { Pool: typeof PoolClass; Device: typeof DeviceClass };
const { Claims } = load(join(PROJECT_ROOT, 'dist', 'pool', 'claims.js')) as { Claims: typeof ClaimsClass };
const { violation } = load(FIXTURE) as { violation: (pool: PoolClass) => string | null };

// On one filesystem and one device-dax alignment: each run costs most of a minute under TCG.
const RUN_ON = ['ext4-dax', 'devdax-2m'];

describe.skipIf(medium === null || !RUN_ON.includes(medium.name))('readers and backups beside a writer on pmem', () => {
  if (medium === null) return;
  const dir = medium.devdax ? null : mkdtempSync(join(medium.path, 'live-'));
  const copies = mkdtempSync(join(tmpdir(), 'live-copies-'));
  const path = dir === null ? medium.path : join(dir, 'pool');
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
    rmSync(copies, { recursive: true, force: true });
  });

  it(`${medium.name}: reader processes see only committed states; backups check clean; no claim outlives them`, async () => {
    Pool.create(path, dir === null ? { force: true, journalBytes: 64 * 1024 } : { size: 64 * 1024 * 1024, journalBytes: 64 * 1024 }).closeSync();
    const problems: string[] = [];
    const start = (args: string[]): Promise<ChildProcess> => new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [FIXTURE, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(c);
      let text = '';
      c.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        for (const line of text.split('\n')) if (line.startsWith('VIOLATION')) problems.push(line);
        if (text.includes('ready')) resolve(c);
      });
      c.stderr.on('data', (d: Buffer) => problems.push(`${args[0]}: ${d.toString()}`));
      c.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${problems.join('\n')}`)));
    });
    const writer = await start(['writer', DIST, path]);
    const readers = await Promise.all([1, 2].map((n) => start(['reader', DIST, path, String(n * 7919)])));
    for (let round = 0; round < 3; round++) {
      const dest = join(copies, `copy${round}`);
      const report = await Pool.backup(path, dest);
      expect(report.bytes).toBeGreaterThan(0);
      expect(Pool.check(dest).problems).toEqual([]);
      const copy = Pool.open(dest, { readonly: true });
      try {
        expect(violation(copy)).toBeNull();
        expect(copy.statfs().files).toBeGreaterThan(0);
      } finally {
        copy.closeSync();
      }
    }
    // The check of a live pool: a claimed snapshot, beside the writer.
    expect(Pool.check(path).problems).toEqual([]);
    for (const c of [writer, ...readers]) {
      c.removeAllListeners('exit');
      const gone = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      await gone;
    }
    expect(problems).toEqual([]);
    const d = Device.open(path, { readonly: true });
    try {
      expect(new Claims(d, 16).anyBefore()).toBe(false);
    } finally {
      d.close();
    }
    const w = Pool.open(path);
    try {
      expect(violation(w)).toBeNull();
    } finally {
      w.closeSync();
    }
    expect(Pool.check(path).problems).toEqual([]);
  }, 240_000);
});
