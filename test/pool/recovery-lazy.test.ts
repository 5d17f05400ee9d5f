import { afterEach, describe, expect, it, vi } from 'vitest';
import { Pool } from '../../lib';
import { BLOCK, decodeSuperblock, isSuperblock } from '../../lib/pool/layout';
import { SimulatedCrash, StrictMemoryDevice, memoryDeviceFromImage } from '../../lib/testing';
import { Prng, seedFrom } from '../dax/support/prng';
import { Executor } from './support/executor';
import { Model } from './support/model';
import { DEFAULT_WORKLOAD, Workload } from './support/workload';

// An open after a crash replays the journal over the checkpoint without loading the pool when the media check
// clean (docs/design.md, "Recovering without loading"); `verify` always loads and audits every inode. Both
// recoveries of one crash image must leave the same pool: the same files and bytes, free space, counters in
// the superblock, and a clean check, after the open, after the same work on each, and after a reopen.

const MiB = 1024 * 1024;
const SEED = seedFrom('PMEMDAX_RECOVERY_SEED');
const WORKLOADS = 8;

/** Everything a caller can see of a pool: its files (number, size, blocks, extents, bytes), statfs, check. */
function view(p: Pool): unknown {
  const files = [...p.list()].sort().map((name) => {
    const st = p.stat(name);
    const f = p.open(name, { readonly: true });
    const bytes = Buffer.alloc(st.size);
    f.readSync(bytes, 0);
    void f.close();
    return { name, ino: st.ino, size: st.size, allocated: st.allocated, extents: st.extents, mtimeMs: st.mtimeMs, bytes: bytes.toString('base64') };
  });
  return { files, statfs: p.statfs(), problems: p.check().problems };
}

/** The counters a writer's checkpoint records in the superblock. */
function counters(bytes: Uint8Array): unknown {
  const sb = decodeSuperblock(bytes.subarray(0, BLOCK));
  if (typeof sb === 'string' || !isSuperblock(sb)) return sb;
  const { inodeCount, nextIno, metaBytes, orphans, sharedCount, deferredBlocks, dirty, treePages } = sb;
  return { inodeCount, nextIno, metaBytes, orphans, sharedCount, deferredBlocks, dirty, treePages };
}

/** Open `image` both ways, or the error each gives. */
function both(image: Uint8Array, opts: { readonly?: true }): [Pool | Error, Pool | Error] {
  const open = (verify: boolean): Pool | Error => {
    try {
      return Pool.openOn(memoryDeviceFromImage(image.slice()), { ...opts, verify });
    } catch (e) {
      return e as Error;
    }
  };
  return [open(true), open(false)];
}

/** The same changes on both: a new file, an unlink, a rename over a name, a write into a file. */
function work(p: Pool): void {
  const names = [...p.list()].sort();
  const f = p.open('zz-new', { create: true });
  f.writeSync(Buffer.alloc(3 * BLOCK + 17, 9), 0);
  f.fsyncSync();
  void f.close();
  if (names.length > 0) p.unlink(names[names.length >> 1] as string);
  if (names.length > 3) p.rename(names[0] as string, names[names.length - 1] as string);
  if (names.length > 4) {
    const g = p.open(names[1] as string);
    g.writeSync(Buffer.alloc(5000, 3), 8192);
    g.fsyncSync();
    void g.close();
  }
}

/** Compare the two recoveries of `image`; a third of the time the lazy one also crashes, and is recovered again. */
function compare(image: Uint8Array, rng: Prng, where: string): void {
  const [ra, rb] = both(image, { readonly: true });
  expect(rb instanceof Error, `${where}: a read-only open, lazy against whole`).toBe(ra instanceof Error);
  if (!(ra instanceof Error) && !(rb instanceof Error)) {
    expect(view(rb), `${where}: read-only`).toEqual(view(ra));
    ra.closeSync();
    rb.closeSync();
  }
  const devA = memoryDeviceFromImage(image.slice());
  const devB = memoryDeviceFromImage(image.slice());
  const open = (dev: typeof devA, verify: boolean): Pool | Error => {
    try {
      return Pool.openOn(dev, { verify });
    } catch (e) {
      return e as Error;
    }
  };
  const a = open(devA, true);
  const b = open(devB, false);
  expect(b instanceof Error, `${where}: an open for writing, lazy against whole`).toBe(a instanceof Error);
  if (a instanceof Error || b instanceof Error) return;
  expect(b.info.recovery, `${where}: recovery`).toEqual(a.info.recovery);
  expect(counters(devB.bytes), `${where}: recovered superblock`).toEqual(counters(devA.bytes));
  const recovered = view(a);
  expect(view(b), `${where}: recovered`).toEqual(recovered);
  work(a);
  work(b);
  expect(view(b), `${where}: after the same work`).toEqual(view(a));
  a.closeSync();
  b.closeSync();
  expect(counters(devB.bytes), `${where}: closed superblock`).toEqual(counters(devA.bytes));
  const a2 = Pool.openOn(devA);
  const b2 = Pool.openOn(devB);
  expect(view(b2), `${where}: reopened`).toEqual(view(a2));
  a2.closeSync();
  b2.closeSync();
  if (rng.int(3) !== 0) return;
  const again = StrictMemoryDevice.fromImage(image.slice());
  again.crashAt(1 + rng.int(8));
  try {
    Pool.openOn(again).closeSync();
  } catch (e) {
    if (!(e instanceof SimulatedCrash)) throw e;
  }
  if (!again.crashed) return;
  const after = Pool.openOn(memoryDeviceFromImage(again.crashImage(() => rng.next())));
  expect(view(after), `${where}: a lazy recovery cut by a crash, recovered again`).toEqual(recovered);
  after.closeSync();
}

/** A seeded workload of the crash suites' mix, a crash image compared at random drains along it. */
async function run(seed: number): Promise<number> {
  const rng = new Prng(seed);
  const long = seed % 2 === 1;
  const device = new StrictMemoryDevice(4 * MiB);
  const model = new Model();
  const workload = new Workload(new Prng(rng.int(2 ** 32)), { ...DEFAULT_WORKLOAD, maxFile: 128 * 1024, remount: !long });
  const exec = new Executor(Pool.createOn(device, { journalBytes: 64 * 1024 }), () => Pool.openOn(device));
  const gap = long ? 12 : 6;
  const image = new Uint8Array(4 * MiB);
  let next = device.drains + 1 + rng.int(2 * gap);
  let step = 0;
  let images = 0;
  let failure: unknown = null;
  device.onDrain = (drain) => {
    if (drain < next || failure !== null) return;
    next = drain + 1 + rng.int(2 * gap);
    try {
      device.crashImageInto(image, () => rng.next(), { newest: [0, 1, 0.5, rng.next()][rng.int(4)] as number });
      images++;
      compare(image, rng, `seed ${seed}, step ${step}, drain ${drain}`);
    } catch (e) {
      failure = e;
    }
  };
  try {
    for (step = 0; step < (long ? 600 : 160); step++) {
      const op = workload.next(model);
      model.begin(op);
      const ino = await exec.run(op);
      if (failure !== null) throw failure;
      model.end(op, ino);
    }
  } finally {
    device.onDrain = null;
  }
  return images;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('recovery without loading against the whole load', () => {
  it(`leaves the same pool from every crash image of random workloads (PMEMDAX_RECOVERY_SEED=${SEED})`, async () => {
    // Both recoveries of an image stamp what they change: one clock for both.
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 });
    const seeds = new Prng(SEED);
    let images = 0;
    for (let i = 0; i < WORKLOADS; i++) images += await run(seeds.int(2 ** 32));
    expect(images).toBeGreaterThan(100);
  }, 600_000);
});
