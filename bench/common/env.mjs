// env.mjs -- the facts about the machine a benchmark table needs next to its numbers.
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';

const TMPFS_MAGIC = 0x01021994;

export function cpuModel() {
  const text = readFileSync('/proc/cpuinfo', 'utf8');
  return /^model name\s*:\s*(.*)$/m.exec(text)?.[1] ?? 'unknown';
}

export function isTmpfs(dir) {
  return statfsSync(dir).type === TMPFS_MAGIC;
}

/** The block device under `dir` (from /proc/self/mountinfo: the longest mount point that prefixes it). */
export function mediumOf(dir) {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');
  let best = { point: '', fs: 'unknown', source: 'unknown' };
  for (const line of lines) {
    const [left, right] = line.split(' - ');
    const point = left.split(' ')[4];
    const [fs, source] = right.split(' ');
    const inside = dir === point || dir.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && point.length >= best.point.length) best = { point, fs, source };
  }
  return `${best.fs} on ${best.source}`;
}

export function environmentRows(extra = []) {
  return [
    ['date', new Date().toISOString().replace(/\.\d+Z$/, 'Z')],
    ['CPU', `${cpuModel()}, ${os.cpus().length} logical CPUs`],
    ['memory', `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`],
    ['kernel', `Linux ${os.release()}`],
    ['node', process.version],
    ...extra,
  ];
}

export function markdownPairs(rows) {
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}
