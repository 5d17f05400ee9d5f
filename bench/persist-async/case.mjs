// One case of the persistAsync benchmark in its own process (the granularity is fixed at open, by the
// environment run.mjs gives): a 4 KiB NOFLUSH copy, then a persist of it, sync or awaited. Prints one
// JSON line: the summary of ns per operation.
// Usage: node bench/persist-async/case.mjs <sync|async|async-8> <dist dir> <scratch dir> <budget ms>
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { timeClients, timeSync } from '../common/measure.mjs';

const [, , mode, distArg, dir, budget] = process.argv;
const require = createRequire(import.meta.url);
const { Device } = require(path.join(path.resolve(distArg), 'device/device.js'));
const { CopyFlags } = require(path.join(path.resolve(distArg), 'device/types.js'));

const KiB4 = 4096;
const SLOTS = 4096; // 16 MiB of destinations, rotated
const file = path.join(dir, 'persist-async-dev');
rmSync(file, { force: true });
const device = Device.open(file, { create: true, size: SLOTS * KiB4 });
const data = new Uint8Array(KiB4).fill(7);
const budgetMs = Number(budget);
const plan = { warmupMs: Math.min(200, budgetMs / 4), budgetMs, maxOps: 1_000_000 };

let result;
if (mode === 'sync') {
  result = timeSync((i) => {
    const offset = (i % SLOTS) * KiB4;
    device.copy(offset, data, CopyFlags.NOFLUSH);
    device.persist(offset, KiB4);
  }, plan);
} else {
  // async-8: eight callers at once, as a server with several requests in flight would.
  const clients = mode === 'async-8' ? 8 : 1;
  const pairs = Array.from({ length: clients }, () => new Float64Array(2));
  result = await timeClients(clients, (client, i) => {
    const offset = (i % SLOTS) * KiB4;
    device.copy(offset, data, CopyFlags.NOFLUSH);
    pairs[client][0] = offset;
    pairs[client][1] = KiB4;
    return device.persistAsync(pairs[client]);
  }, plan);
}
const { granularity } = device.info;
device.close();
rmSync(file, { force: true });
console.log(JSON.stringify({ mode, granularity, ...result }));
