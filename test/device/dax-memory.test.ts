// The memory behind a device-dax, classified from recorded sysfs trees (test/device/fixtures/sysfs, made by
// make.sh there): every kind of ancestry the kernel gives a dax device, and what each one is called.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyDaxMemory } from '../../lib/device/dax-memory';
import { refuseVolatileDevdax } from '../../lib/pool/media';

const FIXTURES = join(__dirname, 'fixtures', 'sysfs');

const CASES = [
  { tree: 'nvdimm', dev: '252:0', what: 'e820 (memmap=) pmem region, empty persistence_domain', persistence: 'persistent', backing: 'nvdimm', source: 'region0', detail: /persistence domain not reported/ },
  { tree: 'nvdimm', dev: '252:1', what: 'NFIT pmem region, memory_controller', persistence: 'persistent', backing: 'nvdimm', source: 'region1', detail: /memory_controller/ },
  { tree: 'nvdimm', dev: '252:2', what: 'NFIT pmem region, cpu_cache', persistence: 'persistent', backing: 'nvdimm', source: 'region2', detail: /cpu_cache/ },
  { tree: 'nvdimm', dev: '252:3', what: 'NFIT volatile region (nd_volatile)', persistence: 'volatile', backing: 'nvdimm', source: 'region3', detail: /volatile region/ },
  { tree: 'nvdimm', dev: '252:4', what: 'region under ndbus without persistence_domain (before 4.17)', persistence: 'persistent', backing: 'nvdimm', source: 'region4', detail: /not reported/ },
  { tree: 'cxl', dev: '253:0', what: 'CXL RAM region (dax_cxl)', persistence: 'volatile', backing: 'cxl-ram', source: 'region0', detail: /CXL RAM/ },
  { tree: 'cxl', dev: '253:1', what: 'CXL pmem region through its nvdimm bridge', persistence: 'persistent', backing: 'nvdimm', source: 'region2', detail: /memory_controller/ },
  { tree: 'cxl', dev: '253:2', what: 'CXL pmem region holding the dax device', persistence: 'persistent', backing: 'cxl-pmem', source: 'region1', detail: /CXL pmem/ },
  { tree: 'cxl', dev: '253:3', what: "CXL region in mode 'none'", persistence: 'unknown', backing: 'unknown', source: 'region3', detail: /mode 'none'/ },
  { tree: 'hmem', dev: '251:0', what: 'dax_hmem soft-reserved memory', persistence: 'volatile', backing: 'hmem', source: 'hmem.0', detail: /soft-reserved/ },
  { tree: 'hmem', dev: '251:1', what: 'a second hmem range', persistence: 'volatile', backing: 'hmem', source: 'hmem.1', detail: /soft-reserved/ },
  { tree: 'unknown', dev: '250:0', what: 'no known ancestor', persistence: 'unknown', backing: 'unknown', source: null, detail: /no nvdimm region/ },
  { tree: 'unknown', dev: '250:7', what: 'no sysfs entry at all', persistence: 'unknown', backing: 'unknown', source: null, detail: /no sysfs entry/ },
] as const;

describe('classifyDaxMemory over recorded sysfs trees', () => {
  it.each(CASES)('$tree $dev: $what is $persistence ($backing)', ({ tree, dev, persistence, backing, source, detail }) => {
    const [major, minor] = dev.split(':').map(Number) as [number, number];
    const m = classifyDaxMemory(major, minor, join(FIXTURES, tree));
    expect(m.persistence).toBe(persistence);
    expect(m.backing).toBe(backing);
    expect(m.source === null ? null : m.source.split('/').pop()).toBe(source);
    expect(m.detail).toMatch(detail);
  });

  it('a volatile verdict always names RAM and power off; a persistent one never does', () => {
    for (const { tree, dev } of CASES) {
      const [major, minor] = dev.split(':').map(Number) as [number, number];
      const m = classifyDaxMemory(major, minor, join(FIXTURES, tree));
      expect(/lost at power off/.test(m.detail)).toBe(m.persistence === 'volatile');
    }
  });
});

describe('formatting a pool on volatile memory', () => {
  const kinds = ['devdax', 'fsdax', 'file'] as const;
  const verdicts = [
    { volatile: true, daxBacking: 'hmem' },
    { volatile: true, daxBacking: 'cxl-ram' },
    { volatile: false, daxBacking: 'nvdimm' },
    { volatile: false, daxBacking: 'unknown' },
    { volatile: true, daxBacking: null },
  ] as const;
  const rows = kinds.flatMap((kind) => verdicts.flatMap((v) => [undefined, false, true].map((allowVolatile) => ({ kind, ...v, allowVolatile }))));

  it.each(rows)('$kind volatile=$volatile ($daxBacking), allowVolatile=$allowVolatile', ({ kind, volatile, daxBacking, allowVolatile }) => {
    const refuse = () => refuseVolatileDevdax({ kind, volatile, daxBacking }, '/dev/dax0.0', allowVolatile);
    if (kind === 'devdax' && volatile && allowVolatile !== true) {
      expect(refuse).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_VOLATILE', path: '/dev/dax0.0' }));
    } else {
      expect(refuse).not.toThrow();
    }
  });
});
