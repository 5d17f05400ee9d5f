import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Device } from '../../lib';
import { HOST_MEDIA, PROJECT_ROOT, runNode, scratchDir } from '../support/scratch';

const LIB = `const { Device } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});`;
const SIZE = 1 << 20;

describe.each(HOST_MEDIA)('device lock on a $name', ({ dir }) => {
  let s: ReturnType<typeof scratchDir>;
  let path: string;
  const open: Device[] = [];
  const device = (): Device => {
    const d = Device.open(path, { create: true, size: SIZE });
    open.push(d);
    return d;
  };
  beforeEach(() => {
    s = scratchDir(dir());
    path = s.file('locked');
  });
  afterEach(() => {
    for (const d of open.splice(0)) d.close();
    s.cleanup();
  });

  it('two opens in one process exclude each other (the lock is per open, not per process)', () => {
    const a = device();
    const b = device();
    expect(a.lock('exclusive')).toBe(true);
    expect(b.lock('exclusive')).toBe(false);
    expect(b.lock('shared')).toBe(false);
    expect(a.lock('exclusive')).toBe(true);
  });

  it('shared locks coexist and keep an exclusive one out', () => {
    const a = device();
    const b = device();
    const c = device();
    expect(a.lock('shared')).toBe(true);
    expect(b.lock('shared')).toBe(true);
    expect(c.lock('exclusive')).toBe(false);
    a.unlock();
    expect(c.lock('exclusive')).toBe(false);
    b.unlock();
    expect(c.lock('exclusive')).toBe(true);
  });

  it('unlock releases the lock', () => {
    const a = device();
    const b = device();
    expect(a.lock('exclusive')).toBe(true);
    a.unlock();
    expect(b.lock('exclusive')).toBe(true);
    a.unlock();
    expect(a.lock('shared')).toBe(false);
  });

  it('close releases the lock', () => {
    const a = device();
    const b = device();
    expect(a.lock('exclusive')).toBe(true);
    a.close();
    expect(b.lock('exclusive')).toBe(true);
  });

  it('a lock held by a child process keeps ours out until the child is killed', async () => {
    const d = device();
    // The child holds the lock until it is killed: no unlock, no close, no exit hook runs.
    const child = spawn(process.execPath, ['-e', `${LIB}
      const d = Device.open(process.argv[1]);
      console.log(d.lock(process.argv[2]) ? 'locked' : 'refused');
      setInterval(() => {}, 1000);`, '--', path, 'exclusive'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
        child.once('error', reject);
        child.once('exit', () => reject(new Error(`the child exited before answering: ${stderr}`)));
      });
      expect(answer).toBe('locked');
      expect(d.lock('shared')).toBe(false);
      expect(d.lock('exclusive')).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    expect(stderr).toBe('');
    expect(d.lock('exclusive')).toBe(true);
  });

  it('a child process finds our lock held and takes it once we unlock', () => {
    const a = device();
    expect(a.lock('exclusive')).toBe(true);
    const probe = (): string => {
      const r = runNode(`${LIB}
        const d = Device.open(process.argv[1]);
        console.log(d.lock('shared') ? 'locked' : 'refused');`, [path]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return r.stdout.trim();
    };
    expect(probe()).toBe('refused');
    a.unlock();
    expect(probe()).toBe('locked');
  });

  it('a closed device refuses lock and unlock with ERR_PMEMDAX_CLOSED', () => {
    const a = device();
    a.close();
    expect(() => a.lock('exclusive')).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
    expect(() => a.unlock()).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED' }));
  });

  it('a mode other than exclusive or shared is a TypeError', () => {
    const a = device();
    expect(() => a.lock('both' as 'shared')).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }));
    expect(device().lock('exclusive')).toBe(true);
  });
});
