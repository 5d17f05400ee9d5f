// docs/guide.md's examples, run as a reader would run them.
//
// Convention: a fenced block whose info string is `js test id=<name>` or `sh test id=<name>` is extracted (its
// indentation inside a list item removed) and run; any other block is prose. Each block runs in a scratch
// directory holding node_modules/pmemdax (a link to this checkout: require('pmemdax') loads dist/ and the built
// addon, as an installed package would) and node_modules/.bin/pmemdax (the CLI, so `npx pmemdax` resolves
// locally). A js block is written to <id>.js and run with `node`; an sh block runs with `bash -e`. Every block
// gets POOL_PATH, BACKUP_PATH and RING_PATH naming files that do not exist yet, and must exit 0. Each id has a
// case below, which may prepare files first and check more afterwards; a test block without a case fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { PROJECT_ROOT, scratchDir } from '../support/scratch';

interface Block {
  readonly lang: 'js' | 'sh';
  readonly id: string;
  readonly code: string;
}

/** The guide's test blocks, in order. */
function testBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```(\w+) test\b(.*)$/.exec(lines[i] as string);
    if (open === null) continue;
    const [, indent = '', lang, rest = ''] = open;
    const id = /\bid=([\w-]+)/.exec(rest)?.[1];
    if (lang !== 'js' && lang !== 'sh') throw new Error(`guide line ${i + 1}: test blocks are js or sh, not ${lang}`);
    if (id === undefined) throw new Error(`guide line ${i + 1}: a test block needs id=<name>`);
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== `${indent}\`\`\``; i++) {
      const line = lines[i] as string;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    blocks.push({ lang, id, code: `${body.join('\n')}\n` });
  }
  return blocks;
}

const guide = readFileSync(join(PROJECT_ROOT, 'docs', 'guide.md'), 'utf8');
const blocks = testBlocks(guide);

interface Exit {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running example: its output so far, a wait for a line matching a pattern, and its exit. */
interface Running {
  readonly child: ChildProcess;
  readonly exit: Promise<Exit>;
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
}

let app: ReturnType<typeof scratchDir>;
/** Scratch directories outside `app` (on /dev/shm and the disk), removed at the end. */
const cleanups: (() => void)[] = [];

/** Where the examples run: a directory with pmemdax installed the way an application has it. */
function installInto(dir: string): void {
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(PROJECT_ROOT, join(dir, 'node_modules', 'pmemdax'), 'dir');
  const bin = join(dir, 'node_modules', '.bin', 'pmemdax');
  writeFileSync(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))} "$@"\n`);
  chmodSync(bin, 0o755);
}

function start(block: Block, args: string[], env: Record<string, string>): Running {
  const file = join(app.dir, `${block.id}.${block.lang}`);
  writeFileSync(file, block.code);
  const [command, argv] = block.lang === 'js' ? [process.execPath, [file, ...args]] : ['bash', ['-e', file, ...args]];
  const child = spawn(command, argv, {
    cwd: app.dir,
    env: { ...process.env, ...env, PATH: `${join(app.dir, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
    timeout: 90_000,
  });
  let stdout = '';
  let stderr = '';
  const watchers: { pattern: RegExp; found: (m: RegExpExecArray) => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const w of [...watchers]) {
      const m = w.pattern.exec(stdout);
      if (m !== null) {
        watchers.splice(watchers.indexOf(w), 1);
        w.found(m);
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return {
    child,
    exit,
    waitFor: (pattern) => new Promise((resolve, reject) => {
      const m = pattern.exec(stdout);
      if (m !== null) return resolve(m);
      watchers.push({ pattern, found: resolve });
      void exit.then((e) => reject(new Error(`exited (${e.status ?? e.signal}) before printing ${pattern}: ${e.stdout}${e.stderr}`)));
    }),
  };
}

/** Paths for one run: fresh names in a fresh directory under `base`. */
function paths(base: string = app.dir): { POOL_PATH: string; BACKUP_PATH: string; RING_PATH: string } {
  const scratch = scratchDir(base);
  cleanups.push(scratch.cleanup);
  const dir = scratch.dir;
  return { POOL_PATH: join(dir, 'app.pool'), BACKUP_PATH: join(dir, 'backup.pool'), RING_PATH: join(dir, 'ring') };
}

async function runOk(block: Block, env: Record<string, string>, args: string[] = []): Promise<Exit> {
  const r = await start(block, args, env).exit;
  expect(r.status, `${block.id} failed:\n${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

/** A pool with a few files, closed, as the backup examples expect to find. */
function seedPool(path: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>([
    ['settings.json', Buffer.from('{"threshold":42}')],
    ['logs/2026-12-04', Buffer.alloc(3 * 1024 * 1024 + 5, 'log line\n')],
    ['empty', Buffer.alloc(0)],
  ]);
  const pool = Pool.open(path, { create: { size: 64 * 1024 * 1024 } });
  try {
    for (const [name, bytes] of files) {
      const f = pool.open(name, { create: true });
      if (bytes.length > 0) f.writeSync(bytes, 0);
      f.close();
    }
  } finally {
    pool.closeSync();
  }
  return files;
}

function expectPoolHolds(path: string, files: Map<string, Buffer>): void {
  const pool = Pool.open(path, { readonly: true });
  try {
    expect(pool.check().ok).toBe(true);
    expect([...pool.list()]).toEqual([...files.keys()].sort());
    for (const [name, bytes] of files) {
      const f = pool.open(name, { readonly: true });
      const got = Buffer.alloc(f.size);
      if (got.length > 0) f.readSync(got, 0);
      f.close();
      expect(got.equals(bytes), name).toBe(true);
    }
  } finally {
    pool.closeSync();
  }
}

/** The record the ring example writes for a sequence number (its `record` function). */
const ringRecord = (seq: number): string => `record ${seq} ${'x'.repeat(seq % 200)}`;
const RING_SLOTS = (4 * 1024 * 1024 - 4096) / 256;

function readRing(out: string): { seq: number; data: string }[] {
  return out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { seq: number; data: string });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What each block must do beyond exiting 0. */
const CASES: Record<string, (block: Block) => Promise<void>> = {
  async quickstart(block) {
    const env = paths();
    const first = await runOk(block, env);
    expect(first.stdout).toContain('logged at offset 0');
    const second = await runOk(block, env); // open-or-create: the second run opens the same pool
    expect(second.stdout).not.toContain('logged at offset 0');
    expect(second.stdout).toContain('threshold: 42');
    const pool = Pool.open(env.POOL_PATH, { readonly: true });
    try {
      expect(pool.info.unsafeShutdown.dirty).toBe(false);
      expect([...pool.list()]).toEqual(['events.log', 'settings.json']);
      expect(pool.check().ok).toBe(true);
    } finally {
      pool.closeSync();
    }
  },

  async service(block) {
    const env = paths();
    const service = start(block, [], { ...env, PORT: '0' });
    const [, url] = await service.waitFor(/listening on (http:\/\/\S+)/);
    const answer = await fetch(url as string, { method: 'POST', body: 'first order\n' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ offset: 0 });
    service.child.kill('SIGTERM');
    const r = await service.exit;
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SIGTERM: draining');
    const pool = Pool.open(env.POOL_PATH, { readonly: true });
    try {
      expect(pool.info.unsafeShutdown.dirty).toBe(false); // closed by the handler, not recovered
      const log = pool.open('requests.log', { readonly: true });
      const bytes = Buffer.alloc(log.size);
      log.readSync(bytes, 0);
      expect(bytes.toString()).toBe('first order\n');
    } finally {
      pool.closeSync();
    }
  },

  async measure(block) {
    const r = await runOk(block, { N: '20' }, [scratchDir(app.dir).dir]);
    expect(r.stdout).toMatch(/granularity page/);
    expect(r.stdout).toMatch(/Device persist 8 B +median [\d.]+ µs, p99 [\d.]+ µs/);
  },

  async locks(block) {
    const r = await runOk(block, paths());
    expect(r.stdout).toContain('lock handover done');
  },

  async cluster(block) {
    const env = paths();
    const r = await runOk(block, env);
    // Two workers, five records each of 'worker N: order I\n' (18 bytes).
    expect(r.stdout).toContain('orders.log holds 180 bytes');
    // Each worker, a reader beside the primary's writer, read back what it wrote.
    expect(r.stdout).toContain('worker 1 read back its 5 orders');
    expect(r.stdout).toContain('worker 2 read back its 5 orders');
    const pool = Pool.open(env.POOL_PATH, { readonly: true });
    try {
      expect(pool.stat('orders.log').size).toBe(180);
    } finally {
      pool.closeSync();
    }
  },

  async 'backup-copy'(block) {
    const env = paths();
    const files = seedPool(env.POOL_PATH);
    const r = await runOk(block, env);
    expect(r.stdout).toContain('no problems');
    expectPoolHolds(env.BACKUP_PATH, files);
    // While a writer holds the pool, flock refuses at once and nothing is copied.
    const writer = Pool.open(env.POOL_PATH);
    try {
      const refused = await start(block, [], { ...env, BACKUP_PATH: `${env.BACKUP_PATH}.2` }).exit;
      expect(refused.status).not.toBe(0);
      expect(() => readFileSync(`${env.BACKUP_PATH}.2`)).toThrow();
    } finally {
      writer.closeSync();
    }
  },

  async 'backup-cli'(block) {
    const env = paths();
    const files = seedPool(env.POOL_PATH);
    const writer = Pool.open(env.POOL_PATH);
    try {
      // Beside a writer: a copy of the state committed when it starts.
      const r = await runOk(block, env);
      expect(r.stdout).toContain('no problems');
    } finally {
      writer.closeSync();
    }
    expectPoolHolds(env.BACKUP_PATH, files);
  },

  async backup(block) {
    const env = paths();
    const files = seedPool(env.POOL_PATH);
    const r = await runOk(block, env);
    expect(r.stdout).toContain(`3 files copied to ${env.BACKUP_PATH}`);
    expectPoolHolds(env.BACKUP_PATH, files);
    // Never over an existing pool; beside a writer, a copy of the state committed when it started.
    const again = await start(block, [], env).exit;
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain('EEXIST');
    const writer = Pool.open(env.POOL_PATH);
    try {
      const beside = await start(block, [env.POOL_PATH, `${env.BACKUP_PATH}.2`], env).exit;
      expect(beside.status, beside.stderr).toBe(0);
      expectPoolHolds(`${env.BACKUP_PATH}.2`, files);
    } finally {
      writer.closeSync();
    }
  },

  async ring(block) {
    const demo = await runOk(block, paths());
    expect(demo.stdout).toContain('the ring holds records 0..199');

    // kill -9 at random moments while it appends, several times on one file; after each, the ring holds a
    // gap-free run of complete records, and the next writer continues right after the last one.
    for (const [base, rounds] of [['/dev/shm', 5], [tmpdir(), 2]] as const) {
      const file = paths(base).RING_PATH;
      let next = 0;
      let wrapped = false;
      for (let round = 0; round < rounds; round++) {
        const writer = start(block, ['write', file], {});
        const [, from] = await writer.waitFor(/writing from (\d+)/);
        expect(Number(from), `round ${round} on ${base}`).toBe(next);
        await sleep(100 + Math.floor(Math.random() * 300));
        writer.child.kill('SIGKILL');
        const killed = await writer.exit;
        expect(killed.signal, killed.stderr).toBe('SIGKILL');

        const read = await runOk(block, {}, ['read', file]);
        const records = readRing(read.stdout);
        expect(records.length).toBeGreaterThan(0);
        expect(records.length).toBeLessThanOrEqual(RING_SLOTS);
        const first = records[0]!.seq;
        records.forEach((rec, i) => {
          expect(rec.seq).toBe(first + i);
          expect(rec.data).toBe(ringRecord(rec.seq));
        });
        next = first + records.length;
        if (first > 0) wrapped = true;
      }
      // On /dev/shm the writer fills the ring many times over in the time given: the overwrite path ran.
      if (base === '/dev/shm') expect(wrapped).toBe(true);
    }
  },
};

describe('docs/guide.md examples', () => {
  beforeAll(() => {
    app = scratchDir();
    installInto(app.dir);
  });
  afterAll(() => {
    for (const c of cleanups.splice(0)) c();
    app.cleanup();
  });

  it('has test blocks, each with its own id and a case here, and a case for each id', () => {
    const ids = blocks.map((b) => b.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(Object.keys(CASES).sort());
  });

  for (const block of blocks) {
    it(`${block.lang} test id=${block.id}`, async () => {
      const run = CASES[block.id];
      if (run === undefined) throw new Error(`no case for the guide's block id=${block.id}`);
      await run(block);
    }, 180_000);
  }
});
