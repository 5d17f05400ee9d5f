// What memory backs a device-dax, read from its sysfs ancestry. A /dev/daxX.Y looks the same whether an
// nvdimm region, a CXL region or soft-reserved (HMAT, EFI_MEMORY_SP) DRAM bound to dax_hmem backs it, but
// only the first (and CXL pmem) keeps its data through a power loss.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DaxBacking, Persistence } from './types';

export interface DaxMemory {
  readonly persistence: Persistence;
  readonly backing: DaxBacking;
  /** The sysfs directory the verdict came from (`…/region0`, `…/hmem.0`), or `null`. */
  readonly source: string | null;
  /** One sentence for an operator. */
  readonly detail: string;
}

let root: string | undefined;

/**
 * The sysfs mount classification reads: `/sys`, or `PMEMDAX_SYSFS_ROOT` (read once, on first use). The
 * variable is a test seam for recorded sysfs trees, not a setting for production.
 */
export function sysfsRoot(): string {
  root ??= process.env.PMEMDAX_SYSFS_ROOT || '/sys';
  return root;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The DEVTYPE line of a sysfs device's uevent (`nd_pmem`, `nd_volatile`, `cxl_region`, …). */
function devtype(dir: string): string | null {
  const line = read(join(dir, 'uevent'))?.split('\n').find((l) => l.startsWith('DEVTYPE='));
  return line === undefined ? null : line.slice('DEVTYPE='.length);
}

function nvdimmRegion(dir: string): DaxMemory {
  const type = devtype(dir);
  const domain = read(join(dir, 'persistence_domain'));
  const name = basename(dir);
  if (type === 'nd_volatile') {
    return { persistence: 'volatile', backing: 'nvdimm', source: dir, detail: `nvdimm volatile region ${name}: RAM, lost at power off` };
  }
  const where = domain ? `persistence domain ${domain}` : 'persistence domain not reported';
  return { persistence: 'persistent', backing: 'nvdimm', source: dir, detail: `nvdimm pmem region ${name} (${where})` };
}

function cxlRegion(dir: string, mode: string): DaxMemory {
  const name = basename(dir);
  if (mode === 'ram') {
    return { persistence: 'volatile', backing: 'cxl-ram', source: dir, detail: `CXL RAM region ${name}: lost at power off` };
  }
  if (mode === 'pmem') return { persistence: 'persistent', backing: 'cxl-pmem', source: dir, detail: `CXL pmem region ${name}` };
  return { persistence: 'unknown', backing: 'unknown', source: dir, detail: `CXL region ${name} in mode '${mode}'` };
}

/** The verdict of one ancestor, or null when it says nothing about the memory. */
function judge(dir: string): DaxMemory | null {
  const name = basename(dir);
  if (/^hmem\.\d+$/.test(name)) {
    return {
      persistence: 'volatile', backing: 'hmem', source: dir,
      detail: `soft-reserved memory (dax_hmem ${name}): RAM, lost at power off`,
    };
  }
  if (!/^region\d+$/.test(name)) return null;
  // nvdimm regions sit on an nvdimm bus and carry persistence_domain (kernels since 4.17); CXL regions
  // sit under a root decoder and carry mode.
  if (existsSync(join(dir, 'persistence_domain')) || /^ndbus\d+$/.test(basename(dirname(dir)))) return nvdimmRegion(dir);
  const mode = read(join(dir, 'mode'));
  return mode === null ? null : cxlRegion(dir, mode);
}

/**
 * classifyDaxMemory -- walks up from /sys/dev/char/<major>:<minor> to the first ancestor that tells what
 * memory backs the device: an nvdimm region (pmem, or an `nd_volatile` one), a CXL region (`mode` ram or
 * pmem) or a dax_hmem platform device. None of them found is `unknown`: not known to be volatile, and not
 * known to persist either.
 */
export function classifyDaxMemory(major: number, minor: number, sysfs: string = sysfsRoot()): DaxMemory {
  let dir: string;
  try {
    dir = realpathSync(join(sysfs, 'dev', 'char', `${major}:${minor}`));
  } catch {
    return { persistence: 'unknown', backing: 'unknown', source: null, detail: `no sysfs entry for character device ${major}:${minor}` };
  }
  const top = realpathSync(sysfs);
  for (; dir.length > top.length && dir !== dirname(dir); dir = dirname(dir)) {
    const verdict = judge(dir);
    if (verdict !== null) return verdict;
  }
  return {
    persistence: 'unknown', backing: 'unknown', source: null,
    detail: 'no nvdimm region, CXL region or dax_hmem device above it in sysfs',
  };
}
