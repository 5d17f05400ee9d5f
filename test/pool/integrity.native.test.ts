import { describe, expect, it } from 'vitest';
import { Device, Pool, type PoolFile } from '../../lib/index';
import { expectedOutcomes, runMatrix, type StateBed } from '../support/integrity';
import { MiB, scratchPerTest } from '../support/scratch';

// Every public member of Pool and PoolFile × every state (docs/api.md, *Errors*: once a file or its pool
// is closed every member of the PoolFile fails with ERR_PMEMDAX_CLOSED except `closed` and `close()`; a pool's
// `info`, `closed` and `stats()` keep answering). Native, so that `mmap` has a real device under it.
const POOL_METHODS: Record<string, (p: Pool) => unknown> = {
  open: (p) => p.open('new', { create: true }),
  openAsync: (p) => p.openAsync('new2', { create: true }),
  renameAsync: (p) => p.renameAsync('f', 'h'),
  unlinkAsync: (p) => p.unlinkAsync('f'),
  exists: (p) => p.exists('f'),
  rename: (p) => p.rename('f', 'g'),
  unlink: (p) => p.unlink('f'),
  list: (p) => [...p.list()],
  stat: (p) => p.stat('f'),
  statfs: (p) => p.statfs(),
  check: (p) => p.check(),
  badblocks: (p) => p.badblocks(),
  metadataRanges: (p) => p.metadataRanges(),
  sync: (p) => p.sync(),
  info: (p) => p.info,
  closed: (p) => p.closed,
  stats: (p) => p.stats(),
  close: (p) => p.close(),
  closeSync: (p) => p.closeSync(),
  dispose: (p) => p[Symbol.dispose](),
  asyncDispose: (p) => p[Symbol.asyncDispose](),
};

const FILE_METHODS: Record<string, (f: PoolFile) => unknown> = {
  name: (f) => f.name,
  ino: (f) => f.ino,
  size: (f) => f.size,
  closed: (f) => f.closed,
  readSync: (f) => f.readSync(new Uint8Array(8), 0),
  read: (f) => f.read(new Uint8Array(8), 0),
  writeSync: (f) => f.writeSync(new Uint8Array(8), 0),
  write: (f) => f.write(new Uint8Array(8), 0),
  appendSync: (f) => f.appendSync(new Uint8Array(8)),
  append: (f) => f.append(new Uint8Array(8)),
  truncate: (f) => f.truncate(4096),
  fallocate: (f) => f.fallocate('allocate', 0, 4096),
  seekData: (f) => f.seekData(0),
  seekHole: (f) => f.seekHole(0),
  iomapOps: (f) => f.iomapOps,
  fiemap: (f) => f.fiemap(),
  clone: (f) => f.clone(f, 0, 8192, 4096),
  dedupe: (f) => f.dedupe(f, 0, 4096, 4096),
  unshare: (f) => f.unshare(0, 4096),
  fsync: (f) => f.fsync(),
  fdatasync: (f) => f.fdatasync(),
  fsyncSync: (f) => f.fsyncSync(),
  mmap: (f) => f.mmap({ length: 4096 }).unmap(),
  stat: (f) => f.stat(),
  close: (f) => f.close(),
  dispose: (f) => f[Symbol.dispose](),
  asyncDispose: (f) => f[Symbol.asyncDispose](),
};

const FILE_ASYNC = new Set(['read', 'write', 'append', 'truncate', 'fallocate', 'clone', 'dedupe', 'unshare', 'fsync', 'fdatasync', 'close', 'asyncDispose']);
const POOL_ASYNC = new Set(['close', 'asyncDispose', 'openAsync', 'renameAsync', 'unlinkAsync']);
const ALWAYS_ANSWER = ['closed', 'close', 'closeSync', 'dispose', 'asyncDispose'];
const works = (): null => null;
const closedExcept = (answering: readonly string[]) => (name: string): string | null => (answering.includes(name) ? null : 'ERR_PMEMDAX_CLOSED');
// A pool whose device was closed under it (createOn/openOn never close the device) still answers from
// what it holds in memory; whatever must reach the media gets the device's ERR_PMEMDAX_CLOSED.
// A listing reads the names tree on the device (whether or not its pages are cached).
const MEDIA_CALLS = ['open', 'openAsync', 'rename', 'renameAsync', 'unlink', 'unlinkAsync', 'list', 'check', 'badblocks', 'sync'];

describe('integrity matrix: Pool and PoolFile × open / closed / parent closed / after unlink', () => {
  const s = scratchPerTest('/dev/shm');

  /** A pool holding `f` (two pages written) on its own device, so that the device can be closed under it. */
  const poolBed = (): { device: Device; pool: Pool } => {
    const device = Device.open(s.file('pool'), { create: true, size: 4 * MiB });
    const pool = Pool.createOn(device, { force: true });
    using f = pool.open('f', { create: true });
    f.writeSync(new Uint8Array(8192).fill(1), 0);
    return { device, pool };
  };
  const poolState = (end: (bed: { device: Device; pool: Pool }) => void) => async (): Promise<StateBed<Pool>> => {
    const bed = poolBed();
    end(bed);
    return { subject: bed.pool, cleanup: () => (bed.pool.closeSync(), bed.device.close()) };
  };
  const fileState = (end: (pool: Pool, file: PoolFile) => void) => async (): Promise<StateBed<PoolFile>> => {
    const { device, pool } = poolBed();
    const file = pool.open('f');
    end(pool, file);
    return { subject: file, cleanup: () => (pool.closeSync(), device.close()) };
  };

  it('Pool open: every member works', async () => {
    expect(await runMatrix(poolState(() => {}), POOL_METHODS)).toEqual(expectedOutcomes(POOL_METHODS, POOL_ASYNC, works));
  });

  it('Pool closed: all but info, closed, stats and close fail with ERR_PMEMDAX_CLOSED', async () => {
    expect(await runMatrix(poolState(({ pool }) => pool.closeSync()), POOL_METHODS)).toEqual(
      expectedOutcomes(POOL_METHODS, POOL_ASYNC, closedExcept(['info', 'stats', ...ALWAYS_ANSWER])),
    );
  });

  it('Pool whose device was closed under it: what reaches the media throws ERR_PMEMDAX_CLOSED', async () => {
    expect(await runMatrix(poolState(({ device }) => device.close()), POOL_METHODS)).toEqual(
      expectedOutcomes(POOL_METHODS, POOL_ASYNC, (name) => (MEDIA_CALLS.includes(name) ? 'ERR_PMEMDAX_CLOSED' : null)),
    );
  });

  it('PoolFile open: every member works', async () => {
    expect(await runMatrix(fileState(() => {}), FILE_METHODS)).toEqual(expectedOutcomes(FILE_METHODS, FILE_ASYNC, works));
  });

  it.each([
    ['closed', (_pool: Pool, file: PoolFile) => file.close()],
    ['of a closed pool', (pool: Pool) => pool.closeSync()],
  ])('PoolFile %s: every member but closed and close fails with ERR_PMEMDAX_CLOSED (async ones reject)', async (_state, end) => {
    expect(await runMatrix(fileState(end), FILE_METHODS)).toEqual(expectedOutcomes(FILE_METHODS, FILE_ASYNC, closedExcept(ALWAYS_ANSWER)));
  });

  it('PoolFile unlinked: every member works (the file lives on, nameless, until its last close)', async () => {
    expect(await runMatrix(fileState((pool) => pool.unlink('f')), FILE_METHODS)).toEqual(expectedOutcomes(FILE_METHODS, FILE_ASYNC, works));
  });
});
