import { describe, expect, it } from 'vitest';
import { checkMapping } from '../../lib/dax/check';
import { EntryKind } from '../../lib/dax/entry';
import { PAGE_SIZE } from '../../lib/iomap/constants';
import { MemFs } from '../../lib/testing/memfs';
import { NO_BLOCK, PageState, type MemInode } from '../../lib/testing/memfs-inode';
import { MemoryDevice } from '../../lib/testing/memory-device';
import { simulateFault } from './support/fault-sim';
import { Prng, seedFrom } from './support/prng';

const SEED = seedFrom('PMEMDAX_RACE_SEED');
const WRITERS = 3;
const REGION = 8; // pages per writer per file

/**
 * Writers (write, punch, zero, fsync, each in its own region of each file) race with read and write
 * faults that hold entry locks across sleeps. At the end the files must hold what the writers wrote,
 * nothing may be locked, and no entry may stand for a block the file no longer has: no zero page over
 * data (invariant 18) and no stale pfn after a punch.
 */
async function race(seed: number, rounds: number) {
  const rng = new Prng(seed);
  const problems: string[] = [];
  const fs = new MemFs(new MemoryDevice(8 << 20));
  const files = [fs.create('/r0'), fs.create('/r1')];
  const size = WRITERS * REGION * PAGE_SIZE;
  const models = files.map(() => new Uint8Array(size));
  for (const f of files) await fs.truncate(f, size);
  const pause = async () => {
    for (let i = rng.int(3); i > 0; i--) await new Promise<void>((r) => (rng.int(2) === 0 ? queueMicrotask(r) : setImmediate(r)));
  };
  const writer = async (w: number) => {
    for (let r = 0; r < rounds; r++) {
      const k = rng.int(files.length);
      const f = files[k] as MemInode;
      const m = models[k] as Uint8Array;
      const lo = w * REGION * PAGE_SIZE;
      const pos = lo + rng.int(REGION * PAGE_SIZE - 1);
      const len = 1 + rng.int(Math.min(3 * PAGE_SIZE, lo + REGION * PAGE_SIZE - pos) - 1);
      const op = rng.int(6);
      if (op <= 2) {
        const data = rng.bytes(len);
        expect(await fs.write(f, pos, data)).toBe(len);
        m.set(data, pos);
        // Invariant 18: once write(2) returns, no zero-page entry is left over the pages it wrote,
        // except one locked by a write fault that allocated the block and is about to replace it.
        for (const e of f.mapping.tree.collect(Math.floor(pos / PAGE_SIZE), Math.floor((pos + len - 1) / PAGE_SIZE))) {
          if (e.kind === EntryKind.ZERO && !e.locked) problems.push(`${f.path}: zero page at ${e.index} after a write returned`);
        }
      } else if (op === 3) {
        await fs.punch(f, pos, len);
        m.fill(0, pos, pos + len);
      } else if (op === 4) {
        await fs.zeroRange(f, pos, len);
        m.fill(0, pos, pos + len);
      } else {
        await fs.fsync(f);
      }
      await pause();
    }
  };
  const faulter = async () => {
    for (let r = 0; r < rounds * 2; r++) {
      const f = files[rng.int(files.length)] as MemInode;
      await simulateFault(fs, f, rng.int(size / PAGE_SIZE), rng.int(4) === 0, pause);
    }
  };
  const tasks: Promise<void>[] = [];
  for (let w = 0; w < WRITERS; w++) tasks.push(writer(w));
  for (let i = 0; i < 4; i++) tasks.push(faulter());
  await Promise.all(tasks);
  files.forEach((f, k) => {
    const back = new Uint8Array(size);
    fs.read(f, 0, back);
    if (Buffer.compare(back, models[k] as Uint8Array) !== 0) problems.push(`${f.path}: contents differ from the model`);
    problems.push(...checkMapping(f.mapping, true).map((p) => `${f.path}: ${p}`));
    for (const e of f.mapping.tree.collect(0, size / PAGE_SIZE)) {
      const block = f.blockAt(e.index);
      const data = block !== NO_BLOCK && (f.stateAt(e.index) & PageState.UNWRITTEN) === 0;
      if (e.kind === EntryKind.ZERO && data) problems.push(`${f.path}: zero page over data at ${e.index}`);
      if (e.kind === EntryKind.REAL && e.pfn !== block) problems.push(`${f.path}: entry ${e.index} maps block ${e.pfn}, file has ${block}`);
    }
  });
  problems.push(...fs.check());
  return problems;
}

describe('races between file I/O and faults', () => {
  it(`writes, punches and zeroing racing with faults keep contents and entries consistent (seed ${SEED})`, async () => {
    for (let i = 0; i < 8; i++) {
      const seed = (SEED + i) >>> 0;
      const problems = await race(seed, 60);
      if (problems.length > 0) console.error(`race test failed; replay with PMEMDAX_RACE_SEED=${seed}`);
      expect(problems).toEqual([]);
    }
  }, 60_000);
});
