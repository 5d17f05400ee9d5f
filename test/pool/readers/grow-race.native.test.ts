import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { Pool } from '../../../lib';
import { PROJECT_ROOT } from '../../support/scratch';
import { poolPerTest } from './support';

// From the review of online backup: a writer's pool.grow between a reader's mapping of the file and its read
// of the superblock made the open (and a backup, and Pool.check) report a pool larger than its file as
// damage. Such an open maps the file again. (A writer that grows without pause can overtake every try: after
// 10 the open gives ERR_PMEMDAX_SIZE, which a slow build met at one grow every 2 ms.)

const MiB = 1024 * 1024;
const pool = poolPerTest({ size: 16 * MiB });

it('reader opens, checks and backups beside a writer that grows the pool every 100 ms see no damage', async () => {
  const writer = spawn(process.execPath, ['-e', `
    const { Pool } = require(${JSON.stringify(`${PROJECT_ROOT}/dist/index.js`)});
    const p = Pool.open(process.argv[1]);
    console.log('ready');
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let size = p.info.size + ${MiB}, n = 0; n < 25; n++, size += ${MiB}) {
      p.grow(size);
      Atomics.wait(pause, 0, 0, 100);
    }
    p.closeSync();
  `, pool.path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => writer.once('close', resolve));
  await new Promise((resolve) => writer.stdout.once('data', resolve));
  let running = true;
  void exited.then(() => (running = false));
  const failures: string[] = [];
  let rounds = 0;
  for (; running; rounds++) {
    try {
      Pool.open(pool.path, { readonly: true }).closeSync();
      const report = Pool.check(pool.path);
      if (!report.ok) failures.push(`check: ${JSON.stringify(report.problems)}`);
      if (rounds % 4 === 0) {
        await Pool.backup(pool.path, pool.file(`copy${rounds}`));
        expect(Pool.check(pool.file(`copy${rounds}`)).problems).toEqual([]);
      }
    } catch (e) {
      failures.push(`${(e as { code?: string }).code}: ${(e as Error).message}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(failures).toEqual([]);
  expect(rounds).toBeGreaterThan(5);
}, 60_000);
