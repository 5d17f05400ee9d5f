// case.mjs -- one contender, one workload, one medium, in its own process; prints one JSON line.
//
//   node case.mjs '<spec as JSON>'   spec: { contender, workload, dir, clients, warmupMs, durationMs, dataBytes,
//                                           logCap, maxOps, seed }
//
// Workloads: write (durable 4 KiB overwrites at random slots), append (durable 4 KiB records), read (4 KiB at
// random slots), mixed (each operation one of the three, equally likely).
import { mkdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { payload } from '../common/data.mjs';
import { chunkMaker } from '../compare/data.mjs';
import { runClients } from './clients.mjs';
import { CONTENDERS } from './contenders.mjs';

const BLOCK = 4096;
const spec = JSON.parse(process.argv[2]);
mkdirSync(spec.dir, { recursive: true });
const store = await CONTENDERS[spec.contender](spec.dir, { ...spec, block: BLOCK, fill: chunkMaker() });
const slots = spec.dataBytes / BLOCK;
// Per client: its own buffers, since an async call may still use them while the next one is issued elsewhere.
const bufs = Array.from({ length: spec.clients }, () => ({ out: payload(BLOCK), into: Buffer.alloc(BLOCK) }));

const calls = {
  write: (c, r) => store.write(Math.floor(r * slots), bufs[c].out),
  append: (c) => store.append(bufs[c].out),
  read: (c, r) => store.read(Math.floor(r * slots), bufs[c].into),
};
const mixed = [calls.write, calls.append, calls.read];
const op = spec.workload === 'mixed' ? (c, r) => mixed[Math.floor(r * 3)](c, (r * 3) % 1) : calls[spec.workload];

const result = await runClients(op, spec, () => store.measure?.());
const holds = store.holds?.() ?? { longestHoldMs: null, longestHoldBusyMs: null };
await store.close();
process.stdout.write(`${JSON.stringify({ ...result, ...holds, info: store.info, pid: process.pid, monoOffsetMs: monoOffsetMs() })}\n`);

/**
 * performance.now() and process.hrtime() both read CLOCK_MONOTONIC: the offset from one to the other, which
 * turns a piece's start into a trace's time (the first hrtime call is slow, so it is warmed up first).
 */
function monoOffsetMs() {
  process.hrtime.bigint();
  const before = performance.now();
  const mono = Number(process.hrtime.bigint()) / 1e6;
  return mono - (before + performance.now()) / 2;
}
