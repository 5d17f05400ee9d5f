import { expect, it } from 'vitest';
import { Pool, type PoolFile } from '../../lib';
import { MemoryDevice, SimulatedCrash, StrictMemoryDevice } from '../../lib/testing';
import { Prng } from '../dax/support/prng';

const SIZE = 2 * 1024 * 1024;
const FILES = 4;

/**
 * One seeded run over four files, each written only with its own tag byte (a clone or dedupe lets the
 * target hold the source's tags too): async calls issued without awaiting, on plain and `{ sync: true }`
 * handles, mixed with synchronous commits (writeSync on a sync handle, fsyncSync, pool.sync, open with
 * create, rename, unlink), a crash at a random drain and, in half the runs, closeSync at a random step.
 * Every crash image must pass check() and no file may hold a byte it was never given (a block of
 * another file, or one reused before its free was durable); after closeSync nothing more may change.
 * Even seeds defer write-back (persistAsync, group commit), odd ones write back inline; of the even ones,
 * every other hands the stores of promise writes to jobs (writeRangesAsync).
 */
async function run(seed: number): Promise<string[]> {
  const rng = new Prng(seed);
  const delays = new Prng(seed ^ 0x5555);
  const dev = new StrictMemoryDevice(SIZE, { persistAsync: seed % 2 === 0, storeJobs: seed % 4 === 0, random: () => delays.next() });
  const pool = Pool.createOn(dev, { journalBytes: 64 * 1024 });
  const problems: string[] = [];
  const allowed: Set<number>[] = Array.from({ length: FILES }, (_, i) => new Set([0, i + 1]));
  const names = Array.from({ length: FILES }, (_, i) => `f${i}`);
  const handles: PoolFile[][] = names.map((n) => [pool.open(n, { create: true }), pool.open(n, { create: true, sync: true })]);
  const imageDev = new MemoryDevice(SIZE);
  const check = (where: string): void => {
    dev.crashImageInto(imageDev.bytes, () => rng.next(), { newest: [0, 1, 0.5][rng.int(3)] as number });
    let p: Pool;
    try {
      p = Pool.openOn(imageDev, { path: 'img' });
    } catch (e) {
      problems.push(`${where}: open: ${String(e)}`);
      return;
    }
    try {
      const c = p.check();
      if (!c.ok) problems.push(`${where}: check ${JSON.stringify(c.problems).slice(0, 300)}`);
      for (let i = 0; i < FILES; i++) {
        if (!p.exists(names[i] as string)) continue;
        const f = p.open(names[i] as string, { readonly: true });
        const b = new Uint8Array(f.size);
        f.readSync(b, 0);
        for (let k = 0; k < b.length; k++) {
          if (!(allowed[i] as Set<number>).has(b[k] as number)) {
            problems.push(`${where}: f${i} byte ${k} = ${b[k]} (allowed ${[...(allowed[i] as Set<number>)]})`);
            break;
          }
        }
      }
      p.closeSync();
    } catch (e) {
      problems.push(`${where}: read: ${String(e)}`);
    }
  };
  let next = 1 + rng.int(20);
  dev.onDrain = (d) => {
    if (d < next || problems.length > 0) return;
    next = d + 1 + rng.int(20);
    check(`seed ${seed} drain ${d}`);
  };
  const pending: Promise<unknown>[] = [];
  const swallow = (p: Promise<unknown>): void => {
    pending.push(p.catch((e: unknown) => {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOSPC' && code !== 'EAGAIN' && code !== 'EBADE' && code !== 'ERR_PMEMDAX_CLOSED' && code !== 'EINVAL' && !(e instanceof SimulatedCrash) && !dev.crashed) problems.push(`seed ${seed}: async ${String(e)}`);
    }));
  };
  const crashStep = rng.int(400);
  const closeStep = rng.int(2) === 0 ? rng.int(300) : -1;
  try {
    for (let step = 0; step < 300 && problems.length === 0; step++) {
      if (step === crashStep) dev.crashAt(1 + rng.int(5));
      const i = rng.int(FILES);
      const h = (handles[i] as PoolFile[])[rng.int(2)] as PoolFile;
      const tag = i + 1;
      const len = 1 + rng.int(3 * 4096);
      const pos = rng.int(6 * 4096);
      try {
        switch (rng.int(14)) {
          case 0: case 1: case 2: swallow(h.write(new Uint8Array(len).fill(tag), pos)); break;
          case 3: swallow(h.append(new Uint8Array(len).fill(tag))); break;
          case 4: h.writeSync(new Uint8Array(len).fill(tag), pos); break;
          case 5: swallow(h.truncate(rng.int(5 * 4096))); break;
          case 6: swallow(h.fallocate((['punch-hole', 'zero-range', 'allocate'] as const)[rng.int(3)] as 'allocate', pos, len)); break;
          case 7: swallow(h.fsync()); break;
          case 8: h.fsyncSync(); break;
          case 9: pool.sync(); break;
          case 10: {
            const j = rng.int(FILES);
            if (j === i) break;
            (allowed[j] as Set<number>).add(tag);
            for (const t of allowed[i] as Set<number>) (allowed[j] as Set<number>).add(t);
            const tgt = (handles[j] as PoolFile[])[0] as PoolFile;
            const off = rng.int(3) * 4096;
            swallow(rng.int(2) === 0 ? h.clone(tgt, off, rng.int(3) * 4096, 4096 * (1 + rng.int(2))) : h.dedupe(tgt, off, rng.int(3) * 4096, 4096));
            break;
          }
          case 11: swallow(h.unshare(0, 4 * 4096)); break;
          case 12: { const n = `tmp${rng.int(3)}`; const t = pool.open(n, { create: true }); if (rng.int(2) === 0) pool.unlink(n); else if (rng.int(2) === 0) pool.rename(n, `tmp${rng.int(3)}`); void t.close(); break; }
          case 13: await new Promise((r) => setTimeout(r, rng.int(2))); break;
        }
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (e instanceof SimulatedCrash) throw e;
        if (code !== 'ENOSPC' && code !== 'EAGAIN' && code !== 'ENOENT' && code !== 'EINVAL') problems.push(`seed ${seed} step ${step}: sync ${String(e)}`);
      }
      if (rng.int(4) === 0) await new Promise((r) => setImmediate(r));
      if (dev.crashed) break;
      if (step === closeStep) {
        dev.onDrain = null;
        pool.closeSync();
        const media = dev.media.slice();
        const bytes = dev.bytes.slice();
        await Promise.allSettled(pending);
        await new Promise((r) => setTimeout(r, 5));
        if (Buffer.compare(media, dev.media) !== 0) problems.push(`seed ${seed}: media changed after closeSync`);
        if (Buffer.compare(bytes, dev.bytes) !== 0) problems.push(`seed ${seed}: bytes changed after closeSync`);
        check(`seed ${seed} after closeSync`);
        return problems;
      }
    }
    await Promise.all(pending);
  } catch (e) {
    if (!(e instanceof SimulatedCrash)) throw e;
  }
  dev.onDrain = null;
  if (!dev.crashed) dev.crashAt(0);
  if (!dev.crashed && problems.length === 0) {
    check(`seed ${seed} end`);
    pool.closeSync();
    check(`seed ${seed} closed`);
  } else if (dev.crashed) {
    await Promise.allSettled(pending);
    check(`seed ${seed} crashed`);
  }
  return problems;
}

it('group commit under interleaved async and sync calls, clone, dedupe and namespace changes: no crash image shows a foreign byte; nothing changes after closeSync', async () => {
  const base = Number(process.env.PMEMDAX_STRESS_SEED ?? 1);
  const problems: string[] = [];
  for (let s = base; s < base + Number(process.env.PMEMDAX_STRESS_RUNS ?? 40) && problems.length === 0; s++) problems.push(...(await run(s)));
  expect(problems.slice(0, 5)).toEqual([]);
}, 300_000);
