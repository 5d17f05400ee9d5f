// measure.mjs -- timing loops shared by bench/compare and bench/pool: one clock read per operation, samples
// preallocated so that measuring allocates nothing per operation.
import { performance } from 'node:perf_hooks';
import { summarize } from './stats.mjs';

/** A small seeded generator (mulberry32), so every contender sees the same offsets in the same order. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `op(i)` for `warmupMs` (or `warmupOps`, whichever ends first) unrecorded, then records up to `maxOps`
 * operations within `budgetMs`. Each sample is the time from the previous operation's end to this one's.
 */
export function timeSync(op, { warmupMs, budgetMs, maxOps, warmupOps = Infinity }) {
  let i = 0;
  const warmEnd = performance.now() + warmupMs;
  while (i < warmupOps && performance.now() < warmEnd) op(i++);
  const samples = new Float64Array(maxOps);
  let n = 0;
  const t0 = performance.now();
  const stop = t0 + budgetMs;
  let last = t0;
  while (n < maxOps && last < stop) {
    op(i++);
    const now = performance.now();
    samples[n++] = (now - last) * 1e6;
    last = now;
  }
  return summarize(samples.subarray(0, n), (last - t0) * 1e6);
}

/**
 * `clients` concurrent loops of `await op(client, i)`; each operation's latency is recorded from its start to
 * its resolution, and ops/s is the total over the wall time of the measured phase.
 */
export async function timeClients(clients, op, { warmupMs, budgetMs, maxOps }) {
  const phase = async (ms, samples) => {
    let n = 0;
    let i = 0;
    const t0 = performance.now();
    const stop = t0 + ms;
    const loop = async (client) => {
      while (performance.now() < stop && (samples === null || n < samples.length)) {
        const start = performance.now();
        await op(client, i++);
        if (samples !== null && n < samples.length) samples[n++] = (performance.now() - start) * 1e6;
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
    return { n, wallNs: (performance.now() - t0) * 1e6 };
  };
  await phase(warmupMs, null);
  const samples = new Float64Array(maxOps);
  const { n, wallNs } = await phase(budgetMs, samples);
  return summarize(samples.subarray(0, n), wallNs);
}
