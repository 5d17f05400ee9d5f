// stats.mjs -- summaries of per-operation latency samples, shared by bench/compare and bench/pool.

/** Sorts in place and returns the summary of `samples` (ns), over `wallNs` of measuring. */
export function summarize(samples, wallNs) {
  const sorted = samples.sort();
  const n = sorted.length;
  if (n === 0) return { n: 0, median: NaN, p99: NaN, mean: NaN, opsPerSec: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return {
    n,
    median: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    mean: sum / n,
    opsPerSec: wallNs > 0 ? (n * 1e9) / wallNs : NaN,
  };
}

/** The q-quantile of an ascending array (nearest rank, so p99 of 5 samples is the largest). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export function median(values) {
  return quantile(Float64Array.from(values).sort(), 0.5);
}

/** ns as a short human figure. */
export function formatNs(ns) {
  if (!Number.isFinite(ns)) return '—';
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(ns >= 1e8 ? 0 : ns >= 1e7 ? 1 : 2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(ns >= 1e5 ? 0 : ns >= 1e4 ? 1 : 2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

/** A ratio such as a speedup: two decimals below 10, whole numbers from 10. */
export function formatRatio(x) {
  return `${x.toFixed(x >= 10 ? 0 : 2)}×`;
}

export function formatRate(perSec) {
  if (!Number.isFinite(perSec)) return '—';
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M`;
  if (perSec >= 1e4) return `${(perSec / 1e3).toFixed(0)} k`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)} k`;
  return perSec.toFixed(perSec >= 100 ? 0 : 1);
}

export function formatSize(bytes) {
  const KiB = 1024;
  const MiB = KiB * KiB;
  const GiB = MiB * KiB;
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}
