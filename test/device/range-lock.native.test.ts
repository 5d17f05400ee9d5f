import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device } from '../../lib';
import { HOST_MEDIA, PROJECT_ROOT, scratchDir } from '../support/scratch';

// Byte-range (fcntl OFD) locks: what readers' claims and the checkpoint lock of a pool are made of
// (lib/pool/claims.ts). Offsets far past the end of the file are the point: a lock needs no bytes.

const LIB = `const { Device } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});`;
const SIZE = 1 << 20;
const FAR = 1n << 62n;

describe.each(HOST_MEDIA)('device range locks on a $name', ({ dir }) => {
  let s: ReturnType<typeof scratchDir>;
  let path: string;
  const open: Device[] = [];
  const device = (readonly = false): Device => {
    const d = Device.open(path, readonly ? { readonly: true } : { create: true, size: SIZE });
    open.push(d);
    return d;
  };
  beforeEach(() => {
    s = scratchDir(dir());
    path = s.file('ranges');
  });
  afterEach(() => {
    for (const d of open.splice(0)) if (!d.closed) d.close();
    s.cleanup();
  });

  it('shared locks of two opens coexist, an exclusive one conflicts, and a test names where the conflict starts', () => {
    const a = device();
    const b = device(true);
    const c = device(true);
    expect(b.rangeLock(FAR + 10n, 1n, 'shared')).toBe(true);
    expect(c.rangeLock(FAR + 10n, 1n, 'shared')).toBe(true);
    expect(a.rangeLock(FAR + 10n, 1n, 'exclusive')).toBe(false);
    expect(a.rangeConflict(FAR, 100n, 'exclusive')).toBe(FAR + 10n);
    expect(a.rangeConflict(FAR, 100n, 'shared')).toBeNull();
    expect(a.rangeConflict(FAR, 10n, 'exclusive')).toBeNull();
    expect(a.rangeConflict(FAR + 11n, 5n, 'exclusive')).toBeNull();
    c.close();
    expect(a.rangeConflict(FAR, 100n, 'exclusive')).toBe(FAR + 10n);
    // An open's own locks never conflict with its own test.
    expect(b.rangeConflict(FAR + 10n, 1n, 'exclusive')).toBeNull();
    b.rangeLock(FAR + 10n, 1n, 'none');
    expect(a.rangeConflict(FAR, 100n, 'exclusive')).toBeNull();
    expect(a.rangeLock(FAR + 10n, 1n, 'exclusive')).toBe(true);
    expect(b.rangeConflict(FAR + 10n, 1n, 'shared')).toBe(FAR + 10n);
  });

  it('range locks and the whole-file lock are independent', () => {
    const a = device();
    const b = device();
    expect(a.lock('exclusive')).toBe(true);
    expect(b.rangeLock(0n, 1n, 'exclusive')).toBe(true);
    expect(b.rangeLock(FAR, 1n, 'shared')).toBe(true);
    expect(a.rangeConflict(0n, FAR * 2n - 2n, 'shared')).toBe(0n);
  });

  it('a claim held by a child process is seen, and goes when the child is killed', async () => {
    const a = device();
    const child = spawn(process.execPath, ['-e', `${LIB}
      const d = Device.open(process.argv[1], { readonly: true });
      console.log(d.rangeLock(BigInt(process.argv[2]), 1n, 'shared') ? 'locked' : 'refused');
      setInterval(() => {}, 1000);`, '--', path, String(FAR + 7n)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
        child.once('exit', () => reject(new Error(`the child exited before answering: ${stderr}`)));
      });
      expect(answer).toBe('locked');
      expect(a.rangeConflict(FAR, 1000n, 'exclusive')).toBe(FAR + 7n);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    expect(stderr).toBe('');
    expect(a.rangeConflict(FAR, 1000n, 'exclusive')).toBeNull();
  });

  const misuse: [string, unknown, unknown, unknown, string][] = [
    ['a number start', 1, 1n, 'shared', 'ERR_INVALID_ARG_TYPE'],
    ['a number length', 1n, 1, 'shared', 'ERR_INVALID_ARG_TYPE'],
    ['a string start', '1', 1n, 'shared', 'ERR_INVALID_ARG_TYPE'],
    ['null start', null, 1n, 'shared', 'ERR_INVALID_ARG_TYPE'],
    ['a negative start', -1n, 1n, 'shared', 'ERR_OUT_OF_RANGE'],
    ['length 0', 0n, 0n, 'shared', 'ERR_OUT_OF_RANGE'],
    ['a negative length', 0n, -5n, 'shared', 'ERR_OUT_OF_RANGE'],
    ['an end past 2^63 - 1', (1n << 63n) - 1n, 1n, 'shared', 'ERR_OUT_OF_RANGE'],
    ['a start of 2^64', 1n << 64n, 1n, 'shared', 'ERR_OUT_OF_RANGE'],
    ['an unknown mode', 0n, 1n, 'both', 'ERR_INVALID_ARG_VALUE'],
    ['no mode', 0n, 1n, undefined, 'ERR_INVALID_ARG_VALUE'],
  ];
  it.each(misuse)('rangeLock and rangeConflict refuse %s', (_what, start, length, mode, code) => {
    const a = device();
    const lock = a.rangeLock.bind(a) as (...args: unknown[]) => boolean;
    const test = a.rangeConflict.bind(a) as (...args: unknown[]) => bigint | null;
    expect(() => lock(start, length, mode)).toThrow(expect.objectContaining({ code }));
    expect(() => test(start, length, mode)).toThrow(expect.objectContaining({ code }));
  });

  it("rangeConflict refuses mode 'none'; a closed device refuses both with ERR_PMEMDAX_CLOSED", () => {
    const a = device();
    expect(() => a.rangeConflict(0n, 1n, 'none' as 'shared')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    a.close();
    expect(() => a.rangeLock(0n, 1n, 'shared')).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    expect(() => a.rangeConflict(0n, 1n, 'shared')).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
  });
});
