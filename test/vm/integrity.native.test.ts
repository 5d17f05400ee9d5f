import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device, Pool, type DaxRegion } from '../../lib/index';
import type { DaxFile } from '../../lib/fs';
import { regionBed } from './support/region-device';
import { expectedOutcomes, runMatrix, type StateBed } from '../support/integrity';
import { MiB, scratchDir } from '../support/scratch';

// Every public member of DaxFile and DaxRegion × every state (docs/api.md, *Mapped files*). The region's
// states: mapped, unmapped, its file closed, its device closed, its pool file unlinked or its pool closed.
const FILE_METHODS: Record<string, (f: DaxFile) => unknown> = {
  device: (f) => f.device,
  regions: (f) => f.regions,
  stats: (f) => f.stats,
  mmap: (f) => f.mmap({ length: 4096 }),
  fsync: (f) => f.fsync(),
  harvest: (f) => f.harvest(),
  unmapMappingRange: (f) => f.unmapMappingRange(0, 0, false),
  layoutBusyPage: (f) => f.layoutBusyPage(),
  breakLayout: (f) => f.breakLayout(),
  close: (f) => f.close(),
  dispose: (f) => f[Symbol.dispose](),
};

const REGION_METHODS: Record<string, (r: DaxRegion) => unknown> = {
  bytes: (r) => r.bytes,
  populate: (r) => r.populate(),
  populateWrite: (r) => r.populate({}, 'write'),
  fault: (r) => r.fault(r.pgoff, { write: true }),
  sync: (r) => r.sync(),
  pin: (r) => r.pin().then((pin) => pin.release()),
  pageState: (r) => r.pageState(0),
  isHuge: (r) => r.isHuge(0),
  unmap: (r) => r.unmap(),
  dispose: (r) => r[Symbol.dispose](),
};

const FILE_ASYNC = new Set(['fsync', 'layoutBusyPage', 'breakLayout']);
const REGION_ASYNC = new Set(['populate', 'populateWrite', 'fault', 'sync', 'pin']);
const works = (): null => null;
const failWith = (names: readonly string[]) => (name: string): string | null => (names.includes(name) ? 'ERR_PMEMDAX_CLOSED' : null);
// What needs a live handle: everything else (getters, page-state queries, the unmap-type calls) is a
// no-op or an answer from memory once the handle is gone.
const REGION_LIVE = ['populate', 'populateWrite', 'fault', 'sync', 'pin'];

type Bed = ReturnType<typeof regionBed>;

/** A 64 KiB file of the reference filesystem, made mappable, on a fresh device; `end` puts it in a state. */
const fileState = (end: (bed: Bed, file: DaxFile) => void) => async (): Promise<StateBed<DaxFile>> => {
  const bed = regionBed(4 * MiB);
  const { file } = await bed.file(64 * 1024);
  end(bed, file);
  return { subject: file, cleanup: () => bed.close() };
};

/** A region over all of such a file. */
const regionState = (end: (bed: Bed, file: DaxFile, region: DaxRegion) => void) => async (): Promise<StateBed<DaxRegion>> => {
  const bed = regionBed(4 * MiB);
  const { file } = await bed.file(64 * 1024);
  const region = file.mmap({ length: 64 * 1024 });
  end(bed, file, region);
  return { subject: region, cleanup: () => bed.close() };
};

describe('integrity matrix: DaxFile and DaxRegion × open / closed / parent closed / after unlink', () => {
  it('DaxFile open: every member works', async () => {
    expect(await runMatrix(fileState(() => {}), FILE_METHODS)).toEqual(expectedOutcomes(FILE_METHODS, FILE_ASYNC, works));
  });

  it('DaxFile closed: mmap and fsync fail with ERR_PMEMDAX_CLOSED, the rest answer or do nothing', async () => {
    expect(await runMatrix(fileState((_bed, file) => file.close()), FILE_METHODS)).toEqual(expectedOutcomes(FILE_METHODS, FILE_ASYNC, failWith(['mmap', 'fsync'])));
  });

  it('DaxFile whose device was closed under it: nothing that needs no media fails', async () => {
    // The file is all holes: nothing to write back, and a reservation touches no media.
    expect(await runMatrix(fileState((bed) => bed.device.close()), FILE_METHODS)).toEqual(expectedOutcomes(FILE_METHODS, FILE_ASYNC, works));
  });

  it('DaxRegion mapped: every member works', async () => {
    expect(await runMatrix(regionState(() => {}), REGION_METHODS)).toEqual(expectedOutcomes(REGION_METHODS, REGION_ASYNC, works));
  });

  it.each([
    ['unmapped', (_bed: Bed, _file: DaxFile, region: DaxRegion) => region.unmap()],
    ['its file closed', (_bed: Bed, file: DaxFile) => file.close()],
  ])('DaxRegion %s: what needs the mapping rejects with ERR_PMEMDAX_CLOSED', async (_state, end) => {
    expect(await runMatrix(regionState(end), REGION_METHODS)).toEqual(expectedOutcomes(REGION_METHODS, REGION_ASYNC, failWith(REGION_LIVE)));
  });

  it('DaxRegion whose device was closed under it: a store fault is refused; reads of holes need no media', async () => {
    expect(await runMatrix(regionState((bed) => bed.device.close()), REGION_METHODS)).toEqual(
      expectedOutcomes(REGION_METHODS, REGION_ASYNC, failWith(['populateWrite', 'fault'])),
    );
  });

  describe('a region of a pool file', () => {
    let s: ReturnType<typeof scratchDir>;
    beforeEach(() => {
      s = scratchDir('/dev/shm');
    });
    afterEach(() => s.cleanup());
    const poolRegionState = (end: (pool: Pool) => void) => async (): Promise<StateBed<DaxRegion>> => {
      const device = Device.open(s.file('pool'), { create: true, size: 4 * MiB });
      const pool = Pool.createOn(device, { force: true });
      const file = pool.open('f', { create: true });
      file.writeSync(new Uint8Array(8192).fill(1), 0);
      const region = file.mmap({ length: 8192 });
      end(pool);
      return { subject: region, cleanup: () => (pool.closeSync(), device.close()) };
    };

    it('after the file is unlinked: every member works (the file lives on until its last close)', async () => {
      expect(await runMatrix(poolRegionState((pool) => pool.unlink('f')), REGION_METHODS)).toEqual(expectedOutcomes(REGION_METHODS, REGION_ASYNC, works));
    });

    it('after the pool closed: what needs the mapping rejects with ERR_PMEMDAX_CLOSED', async () => {
      expect(await runMatrix(poolRegionState((pool) => pool.closeSync()), REGION_METHODS)).toEqual(expectedOutcomes(REGION_METHODS, REGION_ASYNC, failWith(REGION_LIVE)));
    });
  });
});
