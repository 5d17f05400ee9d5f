import { FiemapFlag } from '../iomap/fiemap';

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** formatBytes -- `4096` → `4 KiB`, `1610612736` → `1.5 GiB`, `100` → `100 B`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 'B';
  for (const u of UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
}

/** formatSize -- the exact byte count, and the rounded one when that says more. */
export function formatSize(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${bytes} bytes (${formatBytes(bytes)})`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}

const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [FiemapFlag.LAST, 'last'],
  [FiemapFlag.UNKNOWN, 'unknown'],
  [FiemapFlag.DELALLOC, 'delalloc'],
  [FiemapFlag.DATA_INLINE, 'inline'],
  [FiemapFlag.UNWRITTEN, 'unwritten'],
  [FiemapFlag.MERGED, 'merged'],
  [FiemapFlag.SHARED, 'shared'],
];

/** fiemapFlagNames -- the FIEMAP_EXTENT_* bits set in `flags`, by name (unnamed bits in hex). */
export function fiemapFlagNames(flags: number): string[] {
  const names: string[] = [];
  let rest = flags;
  for (const [bit, name] of FLAG_NAMES) {
    if (flags & bit) names.push(name);
    rest &= ~bit;
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names;
}

/** table -- rows padded into columns; numbers (and headers over them) right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string[] {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((r) =>
    r.map((cell, c) => (c === r.length - 1 && !numeric[c] ? cell : numeric[c] ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join('  '));
}

/** fields -- `label: value` lines with the values lined up. */
export function fields(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`);
}

/** C0 and C1 control characters and DEL: raw, they would break a line or drive the terminal. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/**
 * A pool name as text output shows it: as it is, unless it holds a control character or starts with a
 * double quote; then as a JSON string, which a reader can tell apart and decode (`--json` gives names exactly).
 */
export function shownName(name: string): string {
  return CONTROL.test(name) || name.startsWith('"') ? JSON.stringify(name) : name;
}
