// What info, probe and the CLI say about the memory behind a device: volatile memory is never called
// durable, whatever the device's kind.
import { statfsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatProbe, type ProbeReport } from '../../lib/cli/probe';
import { Device, type DeviceInfo } from '../../lib';
import { HOST_MEDIA, MiB, scratchDir } from '../support/scratch';
import { runCli } from '../support/cli-run';

const RAM_FILESYSTEMS = new Set([0x01021994 /* tmpfs */, 0x858458f6 /* ramfs */]);

describe.each(HOST_MEDIA)('info.persistence on a $name', ({ dir }) => {
  let s: ReturnType<typeof scratchDir>;
  beforeEach(() => {
    s = scratchDir(dir());
  });
  afterEach(() => s.cleanup());

  it('is volatile exactly on tmpfs and ramfs, persistent elsewhere; no dax backing for files', () => {
    using device = Device.open(s.file('f'), { create: true, size: MiB });
    const ram = RAM_FILESYSTEMS.has(statfsSync(s.dir).type);
    expect(device.info.persistence).toBe(ram ? 'volatile' : 'persistent');
    expect(device.info.volatile).toBe(ram);
    expect(device.info.daxBacking).toBeNull();
  });

  it('pmemdax info on a pool there names the persistence', async () => {
    expect((await runCli(['mkfs', s.file('p'), '--size', '1M'])).status).toBe(0);
    const r = await runCli(['info', s.file('p')]);
    expect(r.status, r.stderr).toBe(0);
    const ram = RAM_FILESYSTEMS.has(statfsSync(s.dir).type);
    expect(r.stdout).toMatch(ram ? /^persistence: +volatile: the pool is lost at power off$/m : /^persistence: +persistent$/m);
  });
});

/** A DeviceInfo as each kind of source reports it (the fields probe's text depends on). */
function info(over: Partial<DeviceInfo>): DeviceInfo {
  return {
    path: '/dev/dax0.0', kind: 'devdax', size: 64 * MiB, maxSize: 64 * MiB, alignment: 2 * MiB, deviceAlignment: 2 * MiB, mapSync: true,
    mapSyncReason: null, granularity: 'cacheline', flush: 'clwb', copyKernel: 'avx2', movntThreshold: 256, pmem: false,
    volatile: false, persistence: 'persistent', daxBacking: null, blockDevice: 'dax0.0', region: null,
    persistenceDomain: null, deepFlushAvailable: false, numaNode: 0, unsafeShutdownCount: null, notes: [], ...over,
  };
}

const SOURCES: readonly { name: string; info: DeviceInfo; onPmem: RegExp }[] = [
  { name: 'devdax on an nvdimm pmem region', info: info({ pmem: true, daxBacking: 'nvdimm', region: '/sys/x/region0' }), onPmem: /^yes$/ },
  { name: 'devdax on CXL pmem', info: info({ daxBacking: 'cxl-pmem' }), onPmem: /^yes$/ },
  { name: 'devdax on soft-reserved memory (dax_hmem)', info: info({ volatile: true, persistence: 'volatile', daxBacking: 'hmem' }), onPmem: /^no — device-dax over volatile memory \(hmem\)/ },
  { name: 'devdax on a CXL RAM region', info: info({ volatile: true, persistence: 'volatile', daxBacking: 'cxl-ram' }), onPmem: /^no — device-dax over volatile memory \(cxl-ram\)/ },
  { name: 'devdax on an nvdimm volatile region', info: info({ pmem: true, volatile: true, persistence: 'volatile', daxBacking: 'nvdimm' }), onPmem: /^no — device-dax over volatile memory \(nvdimm\)/ },
  { name: 'devdax sysfs says nothing about', info: info({ persistence: 'unknown', daxBacking: 'unknown' }), onPmem: /^unknown — / },
  { name: 'a file on tmpfs', info: info({ kind: 'file', volatile: true, persistence: 'volatile', mapSync: false, granularity: 'page' }), onPmem: /^no — a file on tmpfs or ramfs/ },
  { name: 'a file on a disk', info: info({ kind: 'file', mapSync: false, granularity: 'page' }), onPmem: /^no — an ordinary file: durable through msync/ },
  { name: 'an fsdax file', info: info({ kind: 'fsdax', pmem: true }), onPmem: /^yes$/ },
];

describe('pmemdax probe text', () => {
  it.each(SOURCES)('$name', ({ info: i, onPmem }) => {
    const report: ProbeReport = { path: i.path, temporary: false, info: i, badblocks: 0, deepFlush: 'not-needed', roundTrip: 'ok', roundTripNote: 'n' };
    const text = formatProbe(report);
    const line = (label: string) => /^([a-zA-Z ]+): +(.*)$/m.exec(text.split('\n').find((l) => l.startsWith(`${label}:`)) ?? '')?.[2];
    expect(line('on pmem')).toMatch(onPmem);
    expect(line('persistence')).toBe(`${i.persistence}${i.daxBacking === null ? '' : ` (${i.daxBacking})`}`);
    // Volatile memory is never called durable, and always said to end at a reboot.
    expect(text.includes('durable')).toBe(!i.volatile && i.kind === 'file');
    expect(line('survives reboot')).toBe(i.volatile ? 'no — the data outlives processes, not a reboot or power loss' : undefined);
  });
});
