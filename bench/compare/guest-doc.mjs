// guest-doc.mjs -- the markdown of the pmem guest's comparison: its environment and every contender's
// speed relative to fs on the same ext4-dax filesystem. No absolute times: under TCG they mean nothing.
import { markdownPairs } from '../common/env.mjs';
import { formatRatio, formatSize } from '../common/stats.mjs';

const BASELINE = 'fs';

const ok = (r) => r && !r.error && Number.isFinite(r.median);

function poolFacts(info) {
  if (!info) return 'not run';
  const yesNo = (b) => (b ? 'yes' : 'no');
  return `granularity ${info.granularity}, MAP_SYNC ${yesNo(info.mapSync)}, flush ${info.flush ?? 'unknown'}, ` +
    `kind ${info.kind}, pmem ${yesNo(info.pmem)}, block device ${info.blockDevice ?? 'unknown'}` +
    (info.persistenceDomain ? `, persistence domain ${info.persistenceDomain}` : '');
}

function scale(config) {
  return `${formatSize(config.dataBytes)} data set per contender; per workload ${config.warmupMs} ms of warm-up, then up to ` +
    `${config.budgetMs} ms of operations; appends up to ${formatSize(config.appendBytes)} per file; reopen after ` +
    `${config.records.toLocaleString('en-US')} records of ${config.recordSize} B, ${config.reopens} times; ` +
    `${config.clients} async clients`;
}

/** One cell: the contender's ratio to fs, or why there is none. */
function cell(contender, baseline, workload) {
  const r = contender.results[workload.id];
  if (!ok(r)) {
    if (r?.error) return `failed: ${r.error}`;
    return contender.skipped ? `not run: ${contender.skipped}` : 'failed: no result';
  }
  if (contender === baseline) return '1 (baseline)';
  const base = baseline?.results[workload.id];
  return ok(base) ? formatRatio(base.median / r.median) : `— (${BASELINE} has no result)`;
}

/** What the run produced: how many workload × contender cases have a result, and what went wrong. */
export function tally(run) {
  const cases = run.workloads.length * run.contenders.length;
  let produced = 0;
  const problems = [];
  for (const c of run.contenders) {
    const done = run.workloads.filter((w) => ok(c.results[w.id]));
    produced += done.length;
    // A contender that could not start has one reason; one that ran may have failed some workloads, or (the
    // pool) have run at another granularity than expected.
    if (c.skipped) problems.push(`${c.label}: ${done.length ? c.skipped : `not run: ${c.skipped}`}`);
    if (!c.skipped || done.length) {
      for (const w of run.workloads) if (!ok(c.results[w.id])) problems.push(`${c.label}, ${w.id}: ${c.results[w.id]?.error ?? 'no result'}`);
    }
  }
  return { cases, produced, problems };
}

function ratioTable(run) {
  const baseline = run.contenders.find((c) => c.module === BASELINE);
  const lines = [
    `| workload | ${run.contenders.map((c) => c.label).join(' | ')} |`,
    `|---|${run.contenders.map(() => '---:').join('|')}|`,
  ];
  for (const w of run.workloads) {
    lines.push(`| ${w.label} | ${run.contenders.map((c) => cell(c, baseline, w)).join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * The section's body. `run` is run.mjs's JSON from the guest; `host` what the host knows: qemu's version,
 * the CPU and its load, the guest's RAM and pmem, and how long the boot took.
 */
export function guestSection(run, host) {
  const { cases, produced, problems } = tally(run);
  const pool = run.contenders.find((c) => c.module === 'pool');
  const lmdb = run.contenders.find((c) => c.module === 'lmdb');
  const environment = markdownPairs([
    ['date', run.date.replace(/\.\d+Z$/, 'Z')],
    ['host', `${host.cpu}, ${host.qemu}`],
    ['host load average (1 min)', `${host.load[0].toFixed(2)} before the boot, ${host.load[1].toFixed(2)} after`],
    ['guest', `Linux ${run.kernel}, QEMU TCG (no KVM), \`-cpu ${host.cpuModel}\`, ${run.cpus} vCPUs, ${host.ram} RAM`],
    ['medium', `ext4 mounted \`-o dax\` on /dev/pmem0, ${host.pmem} of guest RAM reserved as pmem by \`memmap=${host.memmap}\` (${run.diskMedium})`],
    ['pmemdax pool', poolFacts(pool?.info)],
    ['lmdb', lmdb?.describe ? `lmdb-js ${lmdb.describe.version}` : 'not run'],
    ['node', run.node],
    ['scale', scale(run.config)],
    ['run', `${(run.seconds / 60).toFixed(1)} min of benchmark in the guest, ${(host.seconds / 60).toFixed(1)} min from boot to power-off`],
  ]);
  const status = produced === cases
    ? `The run completed: all ${cases} cases (${run.workloads.length} workloads × ${run.contenders.length} contenders) produced results.`
    : `The run completed, but only ${produced} of ${cases} cases (${run.workloads.length} workloads × ${run.contenders.length} contenders) produced results.`;
  const troubles = problems.length ? `\n\nNot as planned:\n\n${problems.map((p) => `- ${p}`).join('\n')}` : '';
  return `## In the pmem guest, on ext4-dax (\`npm run bench:compare:guest\`)

bench/compare/guest.mjs regenerates this section. It boots the QEMU guest of \`npm run test:pmem\`, makes an
ext4 filesystem on its emulated pmem, mounts it with \`-o dax\`, and runs bench/compare/run.mjs there
(\`--plan guest\`): the workloads and contender code of \`npm run bench:compare\` above, with all three
contenders in that filesystem, at a smaller scale. Under TCG every guest instruction is emulated, so
absolute times say nothing about pmem and are left out; each cell is fs's median over the contender's,
from the same run (higher is faster). The guest's two vCPUs share the host's cores with whatever else runs
there, so the ratios move from run to run: they record that every workload runs on ext4-dax, and how the
contenders compare under emulation, not what pmem hardware would give.

${status}${troubles}

### Environment

${environment}

### Ratios to fs on ext4-dax

${ratioTable(run)}
`;
}
