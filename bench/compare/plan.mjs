// plan.mjs -- who runs, what they run, and the targets over the results.
import { MiB } from '../common/data.mjs';
import { RECORD_SIZES, SEQ_SIZE } from './data.mjs';
import { formatNs, formatRatio, formatSize } from '../common/stats.mjs';

export const CONTENDERS = [
  {
    id: 'pmemdax-shm', module: 'pool', medium: 'shm', colour: '#1b6ac9', label: 'pmemdax pool', mediumLabel: '/dev/shm',
    granularity: 'cacheline (forced)', env: { PMEMDAX_FORCE_GRANULARITY: 'cacheline' }, expectGranularity: 'cacheline',
  },
  {
    id: 'pmemdax-disk', module: 'pool', medium: 'disk', colour: '#1b6ac9', label: 'pmemdax pool', mediumLabel: 'disk',
    granularity: 'as detected', env: {},
  },
  { id: 'fs-disk', module: 'fs', medium: 'disk', colour: '#c0392b', label: 'fs', mediumLabel: 'disk', granularity: 'fdatasync', env: {} },
  { id: 'fs-shm', module: 'fs', medium: 'shm', colour: '#c0392b', label: 'fs', mediumLabel: '/dev/shm', granularity: 'fdatasync', env: {} },
  { id: 'lmdb-disk', module: 'lmdb', medium: 'disk', colour: '#1e8449', label: 'lmdb-js', mediumLabel: 'disk', granularity: 'sync commit', env: {} },
  { id: 'lmdb-shm', module: 'lmdb', medium: 'shm', colour: '#1e8449', label: 'lmdb-js', mediumLabel: '/dev/shm', granularity: 'sync commit', env: {} },
];

/**
 * The pmem guest (`npm run bench:compare:guest`): every contender in the ext4-dax mount, which the guest
 * passes as the disk directory (hence the `-disk` ids, and fs-disk as run.mjs's baseline). There the pool
 * should map with MAP_SYNC and flush cachelines.
 */
export const GUEST_CONTENDERS = [
  {
    id: 'pmemdax-disk', module: 'pool', medium: 'disk', colour: '#1b6ac9', label: 'pmemdax pool', mediumLabel: 'ext4-dax',
    granularity: 'as detected', env: {}, expectGranularity: 'cacheline',
  },
  { id: 'fs-disk', module: 'fs', medium: 'disk', colour: '#c0392b', label: 'fs', mediumLabel: 'ext4-dax', granularity: 'fdatasync', env: {} },
  { id: 'lmdb-disk', module: 'lmdb', medium: 'disk', colour: '#1e8449', label: 'lmdb-js', mediumLabel: 'ext4-dax', granularity: 'sync commit', env: {} },
];

/**
 * The guest's scale, over run.mjs's defaults: TCG runs some 10-50x slower than the host, and the three
 * contenders' files fit in the 1 GiB pmem filesystem together (at 64 MiB: the pool file 384 MiB, lmdb's
 * about 220 MiB, fs's about 80 MiB; each is removed when its contender is done).
 */
export const GUEST_SCALE = {
  dataBytes: 64 * MiB,
  budgetMs: 300,
  warmupMs: 50,
  appendBytes: 4 * MiB,
  records: 20_000,
  reopens: 3,
};

export function makeWorkloads(records) {
  return [
    ...RECORD_SIZES.map((size) => ({ id: `write-rand-${size}`, kind: 'write-rand', size, label: `durable write ${formatSize(size)}, random offset` })),
    ...RECORD_SIZES.map((size) => ({ id: `append-${size}`, kind: 'append', size, label: `durable append ${formatSize(size)}` })),
    { id: 'read-rand', kind: 'read-rand', size: 4096, label: 'read 4 KiB, random offset' },
    { id: 'seq-read', kind: 'seq-read', size: SEQ_SIZE, label: 'read 1 MiB, sequential' },
    { id: 'seq-write', kind: 'seq-write', size: SEQ_SIZE, label: 'durable write 1 MiB, sequential' },
    { id: 'mixed', kind: 'mixed', size: 4096, label: '4 KiB 50/50 read/update, 4 async clients' },
    { id: 'reopen', kind: 'reopen', label: `reopen after ${records.toLocaleString('en-US')} records` },
  ];
}

/** A ratio target between two contenders' medians on one workload: `faster` must beat `slower` by `factor`. */
function faster(label, workload, fast, slow, factor) {
  return {
    label,
    evaluate({ get, ok }) {
      const [f, s] = [get(fast, workload), get(slow, workload)];
      if (!ok(f) || !ok(s)) return { measured: null, text: `${ok(f) ? slow : fast} has no result` };
      const ratio = s.median / f.median;
      return {
        measured: ratio,
        met: ratio >= factor,
        text: `${fast} ${formatNs(f.median)} vs ${slow} ${formatNs(s.median)}: ${formatRatio(ratio)}`,
      };
    },
  };
}

export const TARGETS = [
  faster('durable 4 KiB write ≥ 100× faster than fs writeSync + fdatasync on the disk', 'write-rand-4096', 'pmemdax-shm', 'fs-disk', 100),
  faster('durable 4 KiB write ≥ 10× faster than lmdb-js durable puts, /dev/shm', 'write-rand-4096', 'pmemdax-shm', 'lmdb-shm', 10),
  faster('durable 4 KiB write ≥ 10× faster than lmdb-js durable puts, disk', 'write-rand-4096', 'pmemdax-disk', 'lmdb-disk', 10),
  faster('random 4 KiB reads faster than fs.readSync from /dev/shm', 'read-rand', 'pmemdax-shm', 'fs-shm', 1),
  {
    label: 'sequential 1 MiB reads ≥ 80% of memcpy bandwidth (same run)',
    evaluate({ get, ok, memcpy }) {
      const r = get('pmemdax-shm', 'seq-read');
      if (!ok(r) || memcpy.error) return { measured: null, text: memcpy.error ?? 'pmemdax-shm has no result' };
      const share = memcpy.median / r.median;
      return {
        measured: share,
        met: share >= 0.8,
        text: `pmemdax-shm ${(MiB / r.median).toFixed(2)} GB/s vs memcpy ${(MiB / memcpy.median).toFixed(2)} GB/s: ${(share * 100).toFixed(0)}%`,
      };
    },
  },
];
