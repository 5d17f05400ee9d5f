// aged.mjs -- issue 16's aged pool: random create/append/delete churn until the pool is 80 % full, then how
// much of the large files' data could be mapped by 2 MiB pages (PMD). Run by case.mjs (step `aged`).
import { performance } from 'node:perf_hooks';
import { MiB, KiB, payload } from '../common/data.mjs';
import { prng } from '../common/measure.mjs';

const HUGE = 2 * MiB;
/** Large files grow side by side, as several writers' logs do, so that their appends interleave. */
const GROWING = 4;
/** Share of the steps that write a whole small file; the others append one chunk to a growing large file. */
const SMALL_SHARE = 0.5;

/**
 * Fills to `high`, deletes random files down to `low`, `cycles` times, then fills to `final`; files are small
 * (4–256 KiB, one write) or large (2–32 MiB, appended in chunks of 4 KiB–1 MiB). Reports, over the files of
 * 2 MiB or more, the share of their whole 2 MiB file ranges that one PMD could map.
 */
export function aged(Pool, { path, poolBytes, seed, cycles = 3, high = 0.7, low = 0.6, final = 0.8 }) {
  const t0 = performance.now();
  const pool = Pool.create(path, { size: poolBytes });
  const next = prng(seed);
  const between = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const data = payload(MiB);
  const closed = [];
  const growing = [];
  let seq = 0;
  let created = 0;
  let deleted = 0;
  let written = 0;
  const fill = () => {
    const s = pool.statfs();
    return 1 - s.freeBlocks / s.dataBlocks;
  };
  const append = (file, bytes) => {
    for (let left = bytes; left > 0; ) {
      const n = Math.min(left, data.length);
      file.writeSync(data.subarray(0, n), file.size);
      left -= n;
      written += n;
    }
  };
  const create = () => {
    created++;
    const nm = `a${seq++}`;
    return { nm, file: pool.open(nm, { create: true, exclusive: true }) };
  };

  const step = () => {
    while (growing.length < GROWING) growing.push({ ...create(), target: between(2 * MiB, 32 * MiB) });
    if (next() < SMALL_SHARE) {
      const { nm, file } = create();
      append(file, between(4 * KiB, 256 * KiB));
      file.close();
      closed.push(nm);
      return;
    }
    const at = Math.floor(next() * growing.length);
    const g = growing[at];
    append(g.file, Math.min(between(4 * KiB, MiB), g.target - g.file.size));
    if (g.file.size >= g.target) {
      g.file.close();
      closed.push(g.nm);
      growing.splice(at, 1);
    }
  };
  const fillTo = (level) => {
    while (fill() < level) step();
  };
  const deleteTo = (level) => {
    while (fill() > level && closed.length > 0) {
      const at = Math.floor(next() * closed.length);
      pool.unlink(closed[at]);
      closed[at] = closed[closed.length - 1];
      closed.pop();
      deleted++;
    }
  };

  for (let c = 0; c < cycles; c++) {
    fillTo(high);
    deleteTo(low);
  }
  fillTo(final);
  for (const g of growing) g.file.close();
  const filled = fill();

  let largeFiles = 0;
  let rangeBytes = 0;
  let alignedBytes = 0;
  for (const nm of pool.list()) {
    const file = pool.open(nm, { readonly: true });
    if (file.size >= HUGE) {
      const { ranges, aligned } = pmdRanges(file.fiemap(), file.size);
      largeFiles++;
      rangeBytes += ranges * HUGE;
      alignedBytes += aligned * HUGE;
    }
    file.close();
  }
  const files = pool.statfs().files;
  pool.close();
  return {
    poolBytes, fill: filled, files, largeFiles, rangeBytes, alignedBytes, share: alignedBytes / rangeBytes,
    created, deleted, writtenBytes: written, ms: performance.now() - t0,
  };
}

/**
 * The whole 2 MiB file ranges [k·2 MiB, (k+1)·2 MiB) below `size`, and how many of them lie in one physically
 * contiguous run whose device offset minus file offset is a multiple of 2 MiB: the ones a PMD could map.
 */
export function pmdRanges(extents, size) {
  // Extents that continue each other on the device are one run: a PMD may cross the boundary between them.
  const runs = [];
  for (const { logical, physical, length } of extents) {
    const last = runs[runs.length - 1];
    if (last && last.logical + last.length === logical && last.physical + last.length === physical) last.length += length;
    else runs.push({ logical, physical, length });
  }
  const ranges = Math.floor(size / HUGE);
  let aligned = 0;
  for (const { logical, physical, length } of runs) {
    if ((physical - logical) % HUGE !== 0) continue;
    const first = Math.ceil(logical / HUGE);
    const end = Math.min(ranges, Math.floor((logical + length) / HUGE));
    aligned += Math.max(0, end - first);
  }
  return { ranges, aligned };
}
