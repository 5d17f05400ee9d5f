import { checkPath } from '../device/validate';

/** A command's options: a flag (`--json`) or an option that takes a value (`--size 64M`). */
export interface OptionSpec {
  readonly kind: 'flag' | 'value';
  /** One-letter alias (`l` for `-l`). */
  readonly short?: string;
  /** What the value looks like in the usage text (`SIZE`). */
  readonly value?: string;
  /** The empty string is a value (`--after ''`: every name comes after it). */
  readonly emptyValue?: boolean;
  readonly help: string;
}

export interface CommandSpec {
  readonly name: string;
  /** The positional arguments as the usage text shows them (`<pool> <name>...`). */
  readonly synopsis: string;
  /** One line for the command list. */
  readonly summary: string;
  /** More for `pmemdax help <command>`. */
  readonly details?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** How many positional arguments the command takes. */
  readonly positional: readonly [min: number, max: number];
  /**
   * Which positional arguments are paths (by index). Each is checked as the API checks one (non-empty, no NUL byte) before the command touches anything; `-` is
   * stdin and left alone.
   */
  readonly paths?: readonly number[];
}

export interface ParsedArgs {
  readonly positional: readonly string[];
  readonly flags: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
  /** `--help` or `-h` was given: nothing else was checked. */
  readonly help: boolean;
}

/** Bad command-line input: the CLI prints the message and the command's usage and exits 2. */
export class UsageError extends Error {
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

function lookupShort(spec: CommandSpec, letter: string): string | undefined {
  return Object.keys(spec.options).find((name) => spec.options[name]?.short === letter);
}

/**
 * parseArgs -- strict: an unknown or repeated option, a missing value, or the wrong number of positional
 * arguments is a UsageError. `--help`/`-h` anywhere before `--` asks for help and nothing else is checked.
 * `--` ends the options; a lone `-` is a positional argument (stdin).
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const fail = (message: string): never => {
    throw new UsageError(message, spec.name);
  };
  const end = argv.indexOf('--');
  if ((end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h')) {
    return { positional: [], flags, values, help: true };
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) inline = arg.slice(eq + 1);
      if (spec.options[name] === undefined) fail(`unknown option '--${name}'`);
    } else {
      name = arg.length === 2 ? lookupShort(spec, arg.slice(1)) : undefined;
      if (name === undefined) fail(`unknown option '${arg}'`);
    }
    const option = spec.options[name as string] as OptionSpec;
    const key = name as string;
    if (flags.has(key) || values.has(key)) fail(`option '--${key}' given twice`);
    if (option.kind === 'flag') {
      if (inline !== undefined) fail(`option '--${key}' takes no value`);
      flags.add(key);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (value === '' && option.emptyValue !== true)) fail(`option '--${key}' needs a value`);
    values.set(key, value as string);
  }
  const [min, max] = spec.positional;
  if (positional.length < min) fail('missing arguments');
  if (positional.length > max) fail(`unexpected argument '${positional[max]}'`);
  for (const index of spec.paths ?? []) {
    const value = positional[index];
    if (value !== undefined && value !== '-') checkPath(value, 'path');
  }
  return { positional, flags, values, help: false };
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** parseSize -- `4096`, `64K`, `64M`, `1G`, `1T` (binary multiples; `KiB`/`KB`/`kb` spellings too). */
export function parseSize(text: string, what: string, command: string): number {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text);
  const unit = m ? SIZE_UNITS[(m[2] as string).toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UsageError(`invalid size '${text}' for ${what} (a positive whole number, with K, M, G or T)`, command);
  }
  return bytes;
}

/** parseCount -- a non-negative whole number (`0`, `100`). */
export function parseCount(text: string, option: string, command: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`invalid count '${text}' for --${option} (a whole number, 0 or more)`, command);
  return n;
}

/** parseMode -- a file mode in octal, as chmod takes it: `600`, `0600`, `0o640`. */
export function parseMode(text: string, option: string, command: string): number {
  const m = /^(?:0o?)?([0-7]{1,4})$/i.exec(text);
  if (m === null) throw new UsageError(`invalid mode '${text}' for --${option} (octal, like 600 or 0640)`, command);
  return parseInt(m[1] as string, 8);
}

/** `usage: pmemdax <name> <synopsis> [options]`. */
export function usageLine(spec: CommandSpec): string {
  return `usage: pmemdax ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ''}${Object.keys(spec.options).length ? ' [options]' : ''}`;
}

/** The usage text of one command: what it does and its options. */
export function formatUsage(spec: CommandSpec): string {
  const lines = [usageLine(spec), '', spec.summary];
  if (spec.details !== undefined) lines.push('', spec.details);
  const entries = Object.entries(spec.options);
  if (entries.length > 0) {
    lines.push('', 'options:');
    const heads = entries.map(([name, o]) => `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`);
    const width = Math.max(...heads.map((h) => h.length));
    entries.forEach(([, o], i) => lines.push(`  ${(heads[i] as string).padEnd(width)}  ${o.help}`));
  }
  return lines.join('\n');
}
