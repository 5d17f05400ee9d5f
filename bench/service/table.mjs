// table.mjs -- one medium's results as a markdown table: a row per workload and contender.
import { formatNs, formatRate } from '../common/stats.mjs';

export const ms = (v) => (v === null || v === undefined ? '—' : formatNs(v * 1e6));

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
 * The pool's traced runs (--attribute): per workload, the longest piece by wall time and the piece with the
 * most time attributable to the pool, split (attribute.mjs).
 */
export function attributionTable(byWorkload, workloads) {
  const rows = [
    '| workload | piece | what | wall | waiting | blocked | running | frozen | attributable to the pool | trace |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const workload of workloads) {
    const a = byWorkload[workload].pool?.attribution;
    if (a?.error !== undefined) {
      rows.push(`| ${workload} | the traced run failed: ${a.error} | | | | | | | | |`);
      continue;
    }
    if (!a || a.pieces.length === 0) continue;
    const longest = a.pieces.reduce((x, y) => (y.wall > x.wall ? y : x));
    const most = a.pieces[0];
    const shown = longest === most ? [['longest, most attributable', longest]] : [['longest', longest], ['most attributable', most]];
    const trace = `${a.lost ? 'lost events' : 'complete'}; ${a.complete ? 'every piece ≥ 1 ms kept' : 'not every piece ≥ 1 ms kept'}`;
    for (const [label, p] of shown) {
      rows.push(
        `| ${workload} | ${label} | ${p.what} | ${ms(p.wall)} | ${ms(p.waiting)} | ${ms(p.blocked)} | ${ms(p.running)} | ` +
          `${ms(p.frozen)} | ${ms(p.attributable)}${p.accounted ? '' : ' (not accounted for: counted whole)'} | ${trace} |`,
      );
    }
  }
  return rows.join('\n');
}
