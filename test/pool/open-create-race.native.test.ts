import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { HOST_MEDIA, PROJECT_ROOT, scratchDir } from '../support/scratch';

const ROUNDS = 50;
const POOL_BYTES = 1024 * 1024;

/**
 * A racer: loads the library, says `ready`, waits for `go` on stdin, then opens (or creates) the pool at
 * argv[1], writes its own file durably and closes. `mode` is how: `retry` (open-or-create, retrying on
 * ERR_PMEMDAX_POOL_LOCKED), `wait` (open-or-create with lockTimeout) or `create` (Pool.create, once).
 * It prints what happened as JSON: the codes of the errors it saw and whether its data was acknowledged.
 */
const RACER = `
const { Pool } = require(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'index.js'))});
const [path, id, mode] = process.argv.slice(1);
const nap = new Int32Array(new SharedArrayBuffer(4));
const seen = [];
function attempt() {
  if (mode === 'create') return Pool.create(path, { size: ${POOL_BYTES}, journalBytes: 65536 });
  const create = { size: ${POOL_BYTES}, journalBytes: 65536 };
  if (mode === 'wait') return Pool.open(path, { create, lockTimeout: 20000 });
  for (;;) {
    try { return Pool.open(path, { create }); } catch (e) {
      if (e.code !== 'ERR_PMEMDAX_POOL_LOCKED') throw e;
      seen.push(e.code);
      Atomics.wait(nap, 0, 0, 1);
    }
  }
}
process.stdin.once('data', () => {
  let acked = false;
  try {
    const pool = attempt();
    const f = pool.open(id, { create: true, sync: true });
    f.writeSync(Buffer.from('data of ' + id), 0);
    acked = true;
    f.close();
    pool.close();
  } catch (e) { seen.push(e.code ?? String(e)); }
  process.stdout.write(JSON.stringify({ id, acked, seen }) + '\\n', () => process.exit(0));
});
process.stdout.write('ready\\n');
`;

interface RacerResult {
  readonly id: string;
  readonly acked: boolean;
  readonly seen: readonly string[];
}

/** Starts `modes.length` racers on `path`, releases them together once all are loaded, and collects their results. */
async function race(path: string, modes: readonly string[]): Promise<RacerResult[]> {
  const children = modes.map((mode, i) =>
    spawn(process.execPath, ['-e', RACER, '--', path, `racer-${i}`, mode], { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'pipe'] }));
  const outputs = children.map((child) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      const poll = (): void => (out.startsWith('ready\n') ? resolve() : undefined);
      child.stdout.on('data', poll);
      child.once('exit', () => reject(new Error(`racer exited before it was ready: ${err}`)));
    });
    const done = new Promise<string>((resolve) => child.once('close', () => resolve(out + err)));
    return { ready, done };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin.end('go\n');
  const texts = await Promise.all(outputs.map((o) => o.done));
  return texts.map((text) => {
    const line = text.split('\n').find((l) => l.startsWith('{'));
    if (line === undefined) throw new Error(`racer printed no result: ${text}`);
    return JSON.parse(line) as RacerResult;
  });
}

/** The one pool at `path` holds every acknowledged racer's file, and passes check. */
function expectOnePoolWith(dir: string, path: string, acked: readonly string[]): void {
  expect(readdirSync(dir)).toEqual(['pool']);
  const pool = Pool.open(path, { readonly: true });
  try {
    expect(pool.check().problems).toEqual([]);
    for (const id of acked) {
      const buf = Buffer.alloc(64);
      const n = pool.open(id, { readonly: true }).readSync(buf, 0);
      expect(buf.subarray(0, n).toString()).toBe(`data of ${id}`);
    }
  } finally {
    pool.closeSync();
  }
}

describe('racing opens of one fresh path', () => {
  let s: ReturnType<typeof scratchDir>;
  let s2: ReturnType<typeof scratchDir>;
  beforeAll(() => {
    s = scratchDir(HOST_MEDIA[1].dir());
    s2 = scratchDir(HOST_MEDIA[0].dir());
  });
  afterAll(() => {
    s.cleanup();
    s2.cleanup();
  });

  it(`open-or-create: ${ROUNDS} rounds of 2-4 processes agree on one pool that keeps every writer's data`, async () => {
    const modes = ['retry', 'wait'];
    let contended = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const dir = join((round % 2 === 0 ? s : s2).dir, `round-${round}`);
      mkdirSync(dir);
      const path = join(dir, 'pool');
      const racers = Array.from({ length: 2 + (round % 3) }, (_, i) => modes[(round + i) % 2] as string);
      const results = await race(path, racers);
      // Losers may only ever have been told the pool was locked; never that it is not a pool.
      for (const r of results) {
        expect(r.seen.filter((code) => code !== 'ERR_PMEMDAX_POOL_LOCKED'), `round ${round}, ${r.id}`).toEqual([]);
        expect(r.acked, `round ${round}, ${r.id}`).toBe(true);
      }
      expectOnePoolWith(dir, path, results.map((r) => r.id));
      if (results.some((r) => r.seen.length > 0)) contended++;
    }
    // The barrier works: racers did meet the lock held, not only ever arrive one after another.
    expect(contended).toBeGreaterThan(0);
  }, 180_000);

  it('Pool.create: one process formats; the others get EEXIST or ERR_PMEMDAX_POOL_LOCKED and remove nothing', async () => {
    for (let round = 0; round < 12; round++) {
      const dir = join(s.dir, `create-${round}`);
      mkdirSync(dir);
      const path = join(dir, 'pool');
      const results = await race(path, Array.from({ length: 2 + (round % 3) }, () => 'create'));
      const winners = results.filter((r) => r.acked);
      for (const r of results.filter((x) => !x.acked)) expect(['EEXIST', 'ERR_PMEMDAX_POOL_LOCKED']).toContain(r.seen[0]);
      expect(winners.length, `round ${round}: ${JSON.stringify(results)}`).toBe(1);
      expectOnePoolWith(dir, path, winners.map((r) => r.id));
    }
  }, 120_000);
});
