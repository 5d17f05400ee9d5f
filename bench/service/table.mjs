// table.mjs -- one medium's results as a markdown table: a row per workload and contender.
import { formatNs, formatRate } from '../common/stats.mjs';

const ms = (v) => (v === null || v === undefined ? '—' : formatNs(v * 1e6));

export function resultTable(byWorkload, workloads, contenders) {
  const rows = [
    '| workload | contender | ops/s | p50 | p99 | loop delay p99 | loop delay max | loop utilisation | loop thread waiting for a CPU | longest pool hold (wall) | longest pool hold (busy) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const workload of workloads) {
    for (const contender of contenders) {
      const r = byWorkload[workload][contender];
      if (r.error !== undefined) {
        rows.push(`| ${workload} | ${contender} | failed: ${r.error} | | | | | | | | |`);
        continue;
      }
      const name = contender === 'pool' ? `pool (${r.info.granularity})` : contender;
      rows.push(
        `| ${workload} | ${name} | ${formatRate(r.opsPerSec)} | ${formatNs(r.median)} | ${formatNs(r.p99)} | ` +
          `${formatNs(r.loopDelayP99)} | ${formatNs(r.loopDelayMax)} | ${(r.elu * 100).toFixed(0)} % | ` +
          `${r.cpuWait === null ? '—' : `${(r.cpuWait * 100).toFixed(1)} %`} | ${ms(r.longestHoldMs)} | ${ms(r.longestHoldBusyMs)} |`,
      );
    }
  }
  return rows.join('\n');
}

/**
 * The pool's busy-clock runs, traced (--attribute): per workload, the longest piece by busy time and the piece
 * with the most attributable time, split (attribute.mjs).
 */
export function attributionTable(byWorkload, workloads) {
  const rows = [
    '| workload | piece | what | busy | blocked | running | in a GC | vCPU frozen | waiting for a CPU | attributable to the pool |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const workload of workloads) {
    const pieces = byWorkload[workload].pool?.attribution;
    if (!pieces || pieces.length === 0) continue;
    const longest = pieces.reduce((a, b) => (b.busyMs > a.busyMs ? b : a));
    const shown = longest === pieces[0] ? [['longest, most attributable', longest]] : [['longest', longest], ['most attributable', pieces[0]]];
    for (const [label, p] of shown) {
      rows.push(
        `| ${workload} | ${label} | ${p.what} | ${ms(p.busyMs)} | ${ms(p.blocked)} | ${ms(p.running)} | ${ms(p.gc)} | ${ms(p.frozen)} | ` +
          `${ms(p.waiting)} | ${ms(p.attributable)} |`,
      );
    }
  }
  return rows.join('\n');
}
