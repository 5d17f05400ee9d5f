import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, scratchPerTest } from '../support/scratch';

const CLI = `${PROJECT_ROOT}/dist/cli/main.js`;
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });


describe('pmemdax --version', () => {
  it.each(['--version', '-V'])('%s prints the version in package.json and exits 0', (flag) => {
    const r = cli(flag);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, 'utf8')).version}\n`);
    expect(r.stderr).toBe('');
  });

  it('takes no arguments', () => {
    const r = cli('--version', 'x');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unexpected argument 'x'/);
  });
});

describe('pmemdax probe', () => {
  const s = scratchPerTest('/dev/shm');

  it('with no path probes a temporary file, says it is not on pmem, and round-trips', () => {
    const r = cli('probe');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/temporary file, removed/);
    expect(r.stdout).toMatch(/on pmem: +no/);
    expect(r.stdout).toMatch(/MAP_SYNC: +no — /);
    expect(r.stdout).toMatch(/granularity: +page/);
    expect(r.stdout).toMatch(/badblocks: +0/);
    expect(r.stdout).toMatch(/deep flush: +not-needed/);
    expect(r.stdout).toMatch(/persist round trip: ok/);
  });

  it('on a directory probes a scratch file inside it and removes it', () => {
    const r = cli('probe', s.dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`path: +${s.dir}/`));
    expect(readdirSync(s.dir)).toEqual([]);
  });

  it('on tmpfs says the data does not survive a reboot, never that msync makes it durable', () => {
    const r = cli('probe', s.dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/on pmem: +no — a file on tmpfs or ramfs/);
    expect(r.stdout).toMatch(/survives reboot: +no/);
    expect(r.stdout).not.toMatch(/durable through msync/);
  });

  it('on an existing file leaves its contents as they were', () => {
    const data = Buffer.alloc(8192, 0x3d);
    writeFileSync(s.file('f'), data);
    const r = cli('probe', s.file('f'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/rewrote the first 8192 bytes/);
  });

  it('a missing path exits 1 with the errno in the message', () => {
    const r = cli('probe', s.file('nope'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ENOENT/);
  });

  it('an unknown command or extra arguments exit 2 with usage', () => {
    expect(cli('frobnicate').status).toBe(2);
    expect(cli('probe', 'a', 'b').status).toBe(2);
    expect(cli().stdout).toMatch(/usage: pmemdax/);
    expect(cli('help').status).toBe(0);
  });
});
