// The memory classification on the guest's real device-dax: the kernel's own sysfs calls it an nvdimm
// pmem region; with the sysfs root pointed (PMEMDAX_SYSFS_ROOT, the test seam) at a tree that puts the
// same major:minor under a dax_hmem device or a CXL RAM region, it is volatile: info, probe and the CLI
// say so and no pool is formatted on it without the opt-in. The guest cannot make soft-reserved or CXL
// memory, so the real device stands in for one.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../../lib/index';
import { PROJECT_ROOT, pmemMedium } from '../support/pmem';

const medium = pmemMedium;

/** major:minor of a character device, decoded as glibc's major()/minor() do. */
function devNumber(path: string): string {
  const rdev = statSync(path, { bigint: true }).rdev;
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** Ancestries to graft the device under, and what each must be called. */
const GRAFTS = [
  { name: 'dax_hmem', device: 'platform/hmem.0/dax0.0', persistence: 'volatile', backing: 'hmem' },
  { name: 'CXL RAM region', device: 'platform/ACPI0017:00/root0/decoder0.0/region0/dax_region0/dax0.0', mode: 'ram', persistence: 'volatile', backing: 'cxl-ram' },
  { name: 'CXL pmem region', device: 'platform/ACPI0017:00/root0/decoder0.1/region1/dax_region1/dax1.0', mode: 'pmem', persistence: 'persistent', backing: 'cxl-pmem' },
  { name: 'nothing known', device: 'virtual/misc/dax9.0', persistence: 'unknown', backing: 'unknown' },
] as const;

describe.skipIf(medium === null || !medium.devdax)('device-dax memory on the real device', () => {
  if (medium === null || !medium.devdax) return;
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pmemdax-sysfs-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('the kernel sysfs: an nvdimm region, persistent, not volatile, no note', () => {
    using d = Device.open(medium.path, { readonly: true });
    expect(d.info.persistence).toBe('persistent');
    expect(d.info.daxBacking).toBe('nvdimm');
    expect(d.info.volatile).toBe(false);
  });

  it.each(GRAFTS)('grafted under $name: $persistence ($backing) in info, probe, mkfs', (graft) => {
    const tree = join(root, graft.backing);
    mkdirSync(join(tree, 'devices', graft.device), { recursive: true });
    if ('mode' in graft) writeFileSync(join(tree, 'devices', graft.device, '..', '..', 'mode'), `${graft.mode}\n`);
    mkdirSync(join(tree, 'dev', 'char'), { recursive: true });
    symlinkSync(`../../devices/${graft.device}`, join(tree, 'dev', 'char', devNumber(medium.path)));
    const env = { ...process.env, PMEMDAX_SYSFS_ROOT: tree };
    const lib = JSON.stringify(join(PROJECT_ROOT, 'dist', 'index.js'));
    const script = `const { Device, Pool } = require(${lib});
      const d = Device.open(${JSON.stringify(medium.path)}, { readonly: true });
      const { persistence, daxBacking, volatile, notes } = d.info; d.close();
      let create = 'formatted';
      try { Pool.create(${JSON.stringify(medium.path)}, { force: true }).close(); } catch (e) { create = e.code; }
      console.log(JSON.stringify({ persistence, daxBacking, volatile, notes, create }));`;
    const child = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 120_000 });
    expect(child.status, child.stderr).toBe(0);
    const seen = JSON.parse(child.stdout) as { persistence: string; daxBacking: string; volatile: boolean; notes: string[]; create: string };
    expect(seen).toMatchObject({ persistence: graft.persistence, daxBacking: graft.backing, volatile: graft.persistence === 'volatile' });
    expect(seen.create).toBe(graft.persistence === 'volatile' ? 'ERR_PMEMDAX_VOLATILE' : 'formatted');
    if (graft.persistence === 'volatile') expect(seen.notes.join('\n')).toMatch(/lost at power off/);

    const cli = (...args: string[]) => spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), ...args], { env, encoding: 'utf8', timeout: 120_000 });
    const probe = cli('probe', medium.path);
    expect(probe.stdout).toMatch(new RegExp(`^persistence: +${graft.persistence} \\(${graft.backing}\\)$`, 'm'));
    expect(probe.stdout.includes('durable')).toBe(false);
    if (graft.persistence !== 'volatile') return;
    expect(probe.stdout).toMatch(/^on pmem: +no — device-dax over volatile memory/m);
    expect(probe.stdout).toMatch(/^survives reboot: +no/m);
    const refused = cli('mkfs', medium.path, '--force');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/--allow-volatile.*\(ERR_PMEMDAX_VOLATILE\)/);
    const allowed = cli('mkfs', medium.path, '--force', '--allow-volatile');
    expect(allowed.status, allowed.stderr).toBe(0);
    const info = cli('info', medium.path);
    expect(info.stdout).toMatch(/^persistence: +volatile \(\w[\w-]*\): the pool is lost at power off$/m);
  });
});
