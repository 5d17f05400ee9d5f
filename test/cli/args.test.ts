import { describe, expect, it } from 'vitest';
import { formatUsage, parseArgs, parseSize, UsageError, type CommandSpec } from '../../lib/cli/args';

const spec: CommandSpec = {
  name: 'demo',
  synopsis: '<pool> [name...]',
  summary: 'a demo command',
  options: {
    size: { kind: 'value', value: 'SIZE', help: 'how big' },
    long: { kind: 'flag', short: 'l', help: 'more columns' },
    json: { kind: 'flag', help: 'JSON' },
  },
  positional: [1, 3],
};

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('no UsageError');
}

describe('parseArgs', () => {
  it('separates positional arguments, flags (long and short) and values (spaced and with =)', () => {
    const a = parseArgs(spec, ['p', '-l', '--size', '64M', 'x', '--json']);
    expect(a.positional).toEqual(['p', 'x']);
    expect([...a.flags].sort()).toEqual(['json', 'long']);
    expect(a.values.get('size')).toBe('64M');
    expect(parseArgs(spec, ['--size=1G', 'p']).values.get('size')).toBe('1G');
  });

  it('takes everything after -- and a lone - as positional', () => {
    expect(parseArgs(spec, ['p', '-', '--', '-l']).positional).toEqual(['p', '-', '-l']);
  });

  it('rejects unknown, repeated and malformed options with the option named', () => {
    expect(usageError(() => parseArgs(spec, ['p', '--bogus'])).message).toMatch(/unknown option '--bogus'/);
    expect(usageError(() => parseArgs(spec, ['p', '-x'])).message).toMatch(/unknown option '-x'/);
    expect(usageError(() => parseArgs(spec, ['p', '-lj'])).message).toMatch(/unknown option '-lj'/);
    expect(usageError(() => parseArgs(spec, ['p', '-l', '--long'])).message).toMatch(/given twice/);
    expect(usageError(() => parseArgs(spec, ['p', '--json=yes'])).message).toMatch(/takes no value/);
    expect(usageError(() => parseArgs(spec, ['p', '--size'])).message).toMatch(/needs a value/);
    expect(usageError(() => parseArgs(spec, ['p', '--size='])).message).toMatch(/needs a value/);
  });

  it('counts positional arguments against the command\'s bounds', () => {
    expect(usageError(() => parseArgs(spec, [])).message).toMatch(/missing arguments/);
    expect(usageError(() => parseArgs(spec, ['a', 'b', 'c', 'd'])).message).toMatch(/unexpected argument 'd'/);
    expect(usageError(() => parseArgs(spec, [])).command).toBe('demo');
  });

  it('answers --help and -h before checking anything else', () => {
    expect(parseArgs(spec, ['--bogus', '--help']).help).toBe(true);
    expect(parseArgs(spec, ['-h']).help).toBe(true);
    expect(parseArgs(spec, ['p']).help).toBe(false);
    expect(parseArgs(spec, ['p', '--', '--help']).positional).toEqual(['p', '--help']);
  });
});

describe('parseSize', () => {
  it('reads bytes and binary K, M, G, T suffixes in either case, with an optional B or iB', () => {
    expect(parseSize('4096', 'size', 'demo')).toBe(4096);
    expect(parseSize('64K', 'size', 'demo')).toBe(64 * 1024);
    expect(parseSize('64m', 'size', 'demo')).toBe(64 * 1024 * 1024);
    expect(parseSize('1G', 'size', 'demo')).toBe(1024 ** 3);
    expect(parseSize('2GiB', 'size', 'demo')).toBe(2 * 1024 ** 3);
    expect(parseSize('1tb', 'size', 'demo')).toBe(1024 ** 4);
  });

  it('rejects zero, fractions, negative numbers, unknown units and sizes past 2^53', () => {
    for (const bad of ['0', '0M', '1.5G', '-1', '12Q', 'M', '', '99999999999T']) {
      expect(usageError(() => parseSize(bad, 'size', 'demo')).message).toMatch(/invalid size/);
    }
  });
});

describe('formatUsage', () => {
  it('shows the synopsis and every option with its alias and value', () => {
    const text = formatUsage(spec);
    expect(text).toMatch(/^usage: pmemdax demo <pool> \[name\.\.\.\] \[options\]/);
    expect(text).toMatch(/--size SIZE +how big/);
    expect(text).toMatch(/-l, --long +more columns/);
  });
});
