// targets.mjs -- issue 15's service targets, checked per workload:
//   disk: pool throughput ≥ 1.0× the better of fs and lmdb, and loop delay p99 ≤ 1.5× fs's;
//   /dev/shm (cacheline): pool throughput ≥ 3× lmdb's, and loop delay p99 ≤ fs's;
//   disk: no pool promise method holds the thread over 1 ms: with --attribute the most time of one piece
//   attributable to the pool in the traced run (attribute.mjs), else the longest busy hold (wall time less the
//   time the thread waited for a CPU, PMEMDAX_HOLD_CLOCK=busy); the busy and wall holds are shown beside it.
import { formatNs, formatRatio } from '../common/stats.mjs';
import { ms } from './table.mjs';

const ok = (r) => r !== undefined && r.error === undefined;

function check(medium, pool, fs, lmdb) {
  if (!ok(pool) || !ok(fs) || !ok(lmdb)) return null;
  const rivals = medium === 'disk' ? Math.max(fs.opsPerSec, lmdb.opsPerSec) : lmdb.opsPerSec;
  const needRate = medium === 'disk' ? 1 : 3;
  const needDelay = medium === 'disk' ? 1.5 : 1;
  const rate = pool.opsPerSec / rivals;
  const delay = pool.loopDelayP99 / fs.loopDelayP99;
  return {
    hold: medium === 'disk' ? holdCheck(pool) : '',
    rate: `${formatRatio(rate)} (≥ ${formatRatio(needRate)}) ${rate >= needRate ? 'met' : 'missed'}`,
    delay: `${formatNs(pool.loopDelayP99)} vs ${formatNs(fs.loopDelayP99)}: ${formatRatio(delay)} (≤ ${formatRatio(needDelay)}) ${delay <= needDelay ? 'met' : 'missed'}`,
  };
}

function holdCheck(pool) {
  const busy = pool.longestHoldBusyMs;
  const shown = `busy ${ms(busy)}, wall ${ms(pool.longestHoldMs)}`;
  const a = pool.attribution;
  if (a?.error !== undefined) return `not shown (the traced run failed: ${a.error}; ${shown})`;
  if (!a || a.pieces.length === 0) {
    if (busy === null || busy === undefined) return `— (not measured; ${shown})`;
    return `${ms(busy)} busy (wall ${ms(pool.longestHoldMs)}) (≤ 1 ms) ${busy <= 1 ? 'met' : 'missed'}`;
  }
  const most = a.pieces[0].attributable;
  const verdict = most > 1 ? 'missed' : a.lost || !a.complete ? 'not shown (the trace is incomplete)' : 'met';
  return `${ms(most)} attributable (${shown}) (≤ 1 ms) ${verdict}`;
}

export function targetRows(results, workloads) {
  const rows = ['| medium | workload | pool throughput vs target rivals | pool loop delay p99 vs fs | longest pool hold |', '|---|---|---|---|---|'];
  for (const medium of Object.keys(results)) {
    for (const workload of workloads) {
      const by = results[medium][workload];
      const c = check(medium, by.pool, by.fs, by.lmdb);
      rows.push(c === null ? `| ${medium} | ${workload} | — (a contender is missing) | | |` : `| ${medium} | ${workload} | ${c.rate} | ${c.delay} | ${c.hold} |`);
    }
  }
  return rows.join('\n');
}
