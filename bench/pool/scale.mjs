// scale.mjs -- the issue-16 tables of `npm run bench:pool`: one row per file count, the aged pool, and the
// issue's targets. A measurement is an object from case.mjs, or { error } when its child failed.
import { MiB } from '../common/data.mjs';
import { formatNs, formatRate, formatSize, median } from '../common/stats.mjs';

export const TARGETS = {
  openNs: 30e6,
  openAt: [1_000_000, 10_000_000],
  heapBytes: 16 * MiB,
  largeAt: 10_000_000,
  longestMs: 5,
  churnPerSec: 150_000,
  lookupsPerSec: 500_000,
  listNs: 1e6,
  alignedShare: 0.9,
};

const count = (n) => n.toLocaleString('en-US');
const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
const ms = (x) => formatNs(x * 1e6);
const verdict = (met) => (met === null ? '**missed** (not measured)' : met ? 'met' : '**missed**');

/** A table cell: the value, `failed: …` for a failed child, `—` when it did not run. */
function cell(r, format) {
  if (r === undefined) return '—';
  return r.error ? `failed: ${r.error}` : format(r);
}

/** The clean-close opens of a row as one measurement (median), or the failure. */
function opened(row) {
  if (row.openError) return { error: row.openError };
  return row.opens?.length ? { ns: median(row.opens) } : undefined;
}

/** The longest call, the collections inside it (and their kinds), and the most any call took beside collections. */
function longestCall(r) {
  if (r.maxGcMs === undefined) return ms(r.maxMs);
  const gc = r.maxGcMs > 0 ? `GC ${ms(r.maxGcMs)}, ${r.maxGcKinds}` : 'no GC';
  return `${ms(r.maxMs)} (${gc}; beside GC at most ${r.maxBesideGcMs > 0 ? ms(r.maxBesideGcMs) : '0.5 ms'})`;
}

export function scaleTable(rows) {
  const lines = [
    '| files | `Pool.open` after a clean close (median) | `Pool.open` after a crash | records replayed | heap Δ | heap + external Δ | ' +
      'create+unlink pairs/s | lookups/s (`exists`), first pass | lookups/s, pages touched | first 100 names: first listing | second listing | `check` | `check` per file | `check` heap | ' +
      'longest call: create+unlink | longest call: lookup |',
    `|${'---:|'.repeat(16)}`,
  ];
  for (const row of rows) {
    if (row.populate.error) {
      lines.push(`| ${count(row.n)} | populate failed: ${row.populate.error} |${' — |'.repeat(15)}`);
      continue;
    }
    const { crash, heap, churn, lookup, list, check } = row;
    lines.push(`| ${[
      count(row.n),
      cell(opened(row), (r) => formatNs(r.ns)),
      cell(crash, (r) => formatNs(r.ns)),
      cell(crash, (r) => `${count(r.recovery.replayed)}${r.recovery.tornTail ? ', torn tail' : ''}`),
      cell(heap, (r) => mib(r.heapBytes)),
      cell(heap, (r) => mib(r.totalBytes)),
      cell(churn, (r) => formatRate(r.opsPerSec)),
      cell(lookup, (r) => formatRate(r.firstPassPerSec)),
      cell(lookup, (r) => formatRate(r.opsPerSec)),
      cell(list, (r) => formatNs(r.firstNs)),
      cell(list, (r) => formatNs(r.secondNs)),
      cell(check, (r) => formatNs(r.ns)),
      cell(check, (r) => formatNs(r.perFileNs)),
      cell(check, (r) => mib(r.peakBytes)),
      cell(churn, longestCall),
      cell(lookup, longestCall),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

export function agedTable(aged) {
  const head = '| pool | filled | files at the end | files ≥ 2 MiB | their whole 2 MiB ranges | PMD-mappable | created | deleted | written | time |\n' +
    `|${'---:|'.repeat(10)}`;
  if (aged === undefined) return `${head}\n| not run (\`--aged-bytes 0\`) |${' — |'.repeat(9)}`;
  if (aged.error) return `${head}\n| failed: ${aged.error} |${' — |'.repeat(9)}`;
  const a = aged;
  return `${head}\n| ${formatSize(a.poolBytes)} | ${(a.fill * 100).toFixed(1)} % | ${count(a.files)} | ${count(a.largeFiles)} | ${mib(a.rangeBytes)} | ` +
    `${(a.share * 100).toFixed(1)} % | ${count(a.created)} | ${count(a.deleted)} | ${mib(a.writtenBytes)} | ${ms(a.ms)} |`;
}

/**
 * One target over the rows: `pick` gives a row's measurement, `value` its figure (larger is worse when
 * `atMost`). Rows at `sizes` only, or every row; a size with no row or a failed child is a miss.
 */
function target(label, rows, { sizes, pick, value, show, limit, atMost }) {
  const chosen = sizes ? sizes.map((n) => rows.find((r) => r.n === n) ?? { n, missing: true }) : rows;
  const parts = [];
  let met = chosen.length > 0;
  let measured = 0;
  for (const row of chosen) {
    const r = row.missing ? undefined : row.populate.error ? { error: `populate: ${row.populate.error}` } : pick(row);
    const at = `${count(row.n)} files`;
    if (r === undefined || r.error) {
      met = false;
      parts.push(`${at}: ${r ? `failed: ${r.error}` : 'not measured'}`);
      continue;
    }
    measured++;
    const v = value(r);
    if (atMost ? v > limit : v < limit) met = false;
    parts.push(`${at}: ${show(r)}`);
  }
  const failed = chosen.length > measured && parts.some((p) => p.includes('failed:'));
  return `| ${label} | ${parts.join('; ') || '—'} | ${measured === 0 && failed ? '**missed** (failed)' : verdict(measured === 0 ? null : met)} |`;
}

/** A row of the targets table that is a figure reported beside a target, not one. */
function reported(label, rows, { size, pick, show }) {
  const row = rows.find((r) => r.n === size);
  const r = row === undefined ? undefined : row.populate.error ? { error: `populate: ${row.populate.error}` } : pick(row);
  return `| ${label} | ${count(size)} files: ${r === undefined ? 'not measured' : r.error ? `failed: ${r.error}` : show(r)} | — (reported) |`;
}

export function targetsTable(rows, aged) {
  const T = TARGETS;
  const longest = (row) => {
    const rs = [row.churn, row.lookup];
    const failed = rs.find((r) => r?.error);
    if (failed || rs.includes(undefined)) return failed ?? undefined;
    const worst = rs[0].maxMs >= rs[1].maxMs ? rs[0] : rs[1];
    return { maxMs: worst.maxMs, maxGcMs: worst.maxGcMs, maxGcKinds: worst.maxGcKinds, maxBesideGcMs: Math.max(...rs.map((r) => r.maxBesideGcMs ?? 0)) };
  };
  const agedOk = aged && !aged.error;
  return [
    '| target (issue 16) | measured | met |',
    '|---|---|---|',
    target('`Pool.open` after a clean close ≤ 30 ms at 1,000,000 and 10,000,000 files', rows, {
      sizes: T.openAt, pick: opened, value: (r) => r.ns, show: (r) => formatNs(r.ns), limit: T.openNs, atMost: true,
    }),
    target('heap + external of the open pool ≤ 16 MiB at 10,000,000 files', rows, {
      sizes: [T.largeAt], pick: (row) => row.heap, value: (r) => r.totalBytes, show: (r) => `${mib(r.totalBytes)} (heap ${mib(r.heapBytes)})`,
      limit: T.heapBytes, atMost: true,
    }),
    target('longest single call (create+unlink, lookup) ≤ 5 ms at 10,000,000 files', rows, {
      sizes: [T.largeAt], pick: longest, value: (r) => r.maxMs, show: longestCall, limit: T.longestMs, atMost: true,
    }),
    target('longest single call (create+unlink, lookup) ≤ 5 ms at every size (stricter than the issue)', rows, {
      pick: longest, value: (r) => r.maxMs, show: longestCall, limit: T.longestMs, atMost: true,
    }),
    target('create+unlink ≥ 150,000 pairs/s at every size', rows, {
      pick: (row) => row.churn, value: (r) => r.opsPerSec, show: (r) => `${formatRate(r.opsPerSec)}/s`, limit: T.churnPerSec, atMost: false,
    }),
    target('lookups by name ≥ 500,000/s at 10,000,000 files (after a warm-up, as every rate here)', rows, {
      sizes: [T.largeAt], pick: (row) => row.lookup, value: (r) => r.opsPerSec, show: (r) => `${formatRate(r.opsPerSec)}/s`,
      limit: T.lookupsPerSec, atMost: false,
    }),
    reported('lookups by name at 10,000,000 files, first pass of a fresh process over the names (a cold start: every leaf read is one the process never touched)', rows, {
      size: T.largeAt, pick: (row) => row.lookup, show: (r) => `${formatRate(r.firstPassPerSec)}/s`,
    }),
    target('first 100 names of a prefix ≤ 1 ms at 10,000,000 files (first and second listing)', rows, {
      sizes: [T.largeAt], pick: (row) => row.list, value: (r) => Math.max(r.firstNs, r.secondNs),
      show: (r) => `${formatNs(r.firstNs)} first (median of ${r.runs} processes: ${formatNs(r.firstMinNs)}–${formatNs(r.firstMaxNs)}), ${formatNs(r.secondNs)} second`,
      limit: T.listNs, atMost: true,
    }),
    `| aged pool: ≥ 90 % of the large files' 2 MiB ranges PMD-mappable | ` +
      `${agedOk ? `${(aged.share * 100).toFixed(1)} % (${formatSize(aged.poolBytes)} pool)` : aged ? `failed: ${aged.error}` : 'not run'} | ` +
      `${verdict(agedOk ? aged.share >= T.alignedShare : null)} |`,
  ].join('\n');
}
