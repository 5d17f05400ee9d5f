import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Device } from '../device/device';
import type { DeviceInfo } from '../device/types';
import { cpuInfo } from '../device/cpu';
import { PmemdaxError, isErrnoError } from '../errors';
import { hasPool } from '../pool/load';

const PROBE_FILE_SIZE = 8 * 1024 * 1024;

export interface ProbeReport {
  readonly path: string;
  readonly temporary: boolean;
  readonly info: DeviceInfo;
  readonly badblocks: number;
  readonly deepFlush: string;
  /** `skipped`: the path holds a pmemdax pool, which probe never writes. */
  readonly roundTrip: 'ok' | 'mismatch' | 'skipped';
  readonly roundTripNote: string;
}

/**
 * Opens `target` (a device, a file, or a directory to create a scratch file in; a temporary file when
 * omitted), reports what it offers and checks that persisted data reads back after a reopen.
 */
export function probe(target: string | undefined): ProbeReport {
  let path = target;
  let scratchDir: string | null = null;
  if (path === undefined) {
    scratchDir = mkdtempSync(join(tmpdir(), 'pmemdax-probe-'));
    path = join(scratchDir, 'probe');
  } else if (statSync(path).isDirectory()) {
    scratchDir = mkdtempSync(join(path, '.pmemdax-probe-'));
    path = join(scratchDir, 'probe');
  }
  try {
    return scratchDir === null ? probeExisting(path) : probeScratch(path);
  } finally {
    if (scratchDir !== null) rmSync(scratchDir, { recursive: true, force: true });
  }
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function deepFlushState(device: Device): string {
  const result = device.deepFlush(0, Math.min(device.size, 4096));
  return device.info.deepFlushAvailable ? result : `${result} (the region has no deep_flush control)`;
}

function probeScratch(path: string): ProbeReport {
  const data = pattern(64 * 1024, Date.now() & 0xff);
  let info: DeviceInfo;
  let badblocks: number;
  let deepFlush: string;
  {
    using device = Device.open(path, { create: true, size: PROBE_FILE_SIZE });
    info = device.info;
    badblocks = device.badblocks().length;
    device.copy(4096, data);
    deepFlush = deepFlushState(device);
  }
  using reopened = Device.open(path, { readonly: true });
  const back = reopened.readSafe(4096, data.length);
  const same = Buffer.compare(Buffer.from(back), Buffer.from(data)) === 0;
  return {
    path,
    temporary: true,
    info,
    badblocks,
    deepFlush,
    roundTrip: same ? 'ok' : 'mismatch',
    roundTripNote: 'wrote 64 KiB to a scratch file with copy+persist, reopened it and read it back',
  };
}

/** The existing path, opened for writing under the exclusive lock a pool's writer takes. */
function openLocked(path: string): Device {
  try {
    return Device.open(path, { lock: 'exclusive' });
  } catch (e) {
    if (isErrnoError(e, 'EAGAIN') && e.syscall === 'flock') {
      throw new PmemdaxError('ERR_PMEMDAX_POOL_LOCKED', `'${path}' is in use by another open (it holds the lock); probe writes nothing there`, { path });
    }
    throw e;
  }
}

function probeExisting(path: string): ProbeReport {
  // Never change a user's data: rewrite bytes that are already there, persist, and read them back, under
  // the lock pools take so that no pool writer runs meanwhile. A pool is never written at all: a rewrite
  // racing nothing still rewrites its superblock, and a crash in the middle must not be the probe's doing.
  using device = openLocked(path);
  const length = Math.min(device.size, 64 * 1024);
  const facts = { path, temporary: false, info: device.info, badblocks: device.badblocks().length, deepFlush: '' };
  if (hasPool(device)) {
    return {
      ...facts,
      deepFlush: 'not tried (the path holds a pmemdax pool)',
      roundTrip: 'skipped',
      roundTripNote: 'the path holds a pmemdax pool: probe writes nothing to it',
    };
  }
  const before = device.readSafe(0, length);
  device.copy(0, before);
  const after = device.readSafe(0, length);
  const same = Buffer.compare(Buffer.from(after), Buffer.from(before)) === 0;
  return {
    ...facts,
    deepFlush: deepFlushState(device),
    roundTrip: same ? 'ok' : 'mismatch',
    roundTripNote: `rewrote the first ${length} bytes with their own contents (copy+persist) and read them back`,
  };
}

function onPmem(i: DeviceInfo): string {
  if (i.volatile && i.kind === 'devdax') return `no — device-dax over volatile memory (${i.daxBacking ?? 'unknown'}), RAM only: nothing under it to persist to`;
  if (i.volatile) return 'no — a file on tmpfs or ramfs, in RAM only: nothing under it to persist to';
  if (i.pmem || (i.kind === 'devdax' && i.persistence === 'persistent')) return 'yes';
  if (i.kind === 'devdax') return 'unknown — sysfs names no nvdimm region, CXL region or dax_hmem device behind this device-dax';
  return 'no — an ordinary file: durable through msync, at page-cache speed';
}

export function formatProbe(report: ProbeReport): string {
  const i = report.info;
  const cpu = cpuInfo();
  const lines = [
    `path:               ${report.path}${report.temporary ? ' (temporary file, removed)' : ''}`,
    `kind:               ${i.kind}`,
    `on pmem:            ${onPmem(i)}`,
    `persistence:        ${i.persistence}${i.daxBacking === null ? '' : ` (${i.daxBacking})`}`,
    ...(i.volatile ? ['survives reboot:    no — the data outlives processes, not a reboot or power loss'] : []),
    `size:               ${i.size} bytes`,
    `MAP_SYNC:           ${i.mapSync ? 'yes' : `no — ${i.mapSyncReason ?? 'unknown'}`}`,
    `granularity:        ${i.granularity}`,
    `flush:              ${i.flush} (CPU offers ${['clwb', 'clflushopt', 'clflush'].filter((f) => cpu[f as 'clwb']).join(', ')})`,
    `copy kernel:        ${i.copyKernel}, non-temporal from ${i.movntThreshold} bytes`,
    `block device:       ${i.blockDevice ?? 'none'}`,
    `persistence domain: ${i.persistenceDomain ?? 'unknown'}`,
    `NUMA node:          ${i.numaNode ?? 'unknown'}`,
    `unsafe shutdowns:   ${i.unsafeShutdownCount ?? 'not exposed by this platform'}`,
    `badblocks:          ${report.badblocks}`,
    `deep flush:         ${report.deepFlush}`,
    `persist round trip: ${report.roundTrip} (${report.roundTripNote})`,
  ];
  for (const note of i.notes) lines.push(`note:               ${note}`);
  return lines.join('\n');
}
