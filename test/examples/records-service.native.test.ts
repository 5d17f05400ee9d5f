// The records service example (examples/records-service) under SIGKILL: clients load it with appends, puts
// and reads; it is killed at random moments, restarted, and at the end every request it answered 200 must
// be there and the pool must check clean. Seeded: RECORDS_SERVICE_SEED=<n> replays a run's choices (kill
// moments, operations, sizes; the interleaving itself depends on timing).
import { afterAll, expect, it } from 'vitest';
import { Pool } from '../../lib';
import { Prng } from '../dax/support/prng';
import { scratchDir } from '../support/scratch';
import { Acknowledged } from './support/records-model';
import { startService, type Service } from './support/records-process';

const KILLS = 6;
const CLIENTS = 12;
const TOPICS = ['orders', 'audit', 'metrics'];
const KEYS = Array.from({ length: 6 }, (_, i) => `key-${i}`);

const SEED = Number(process.env.RECORDS_SERVICE_SEED ?? Math.floor(Math.random() * 2 ** 32));
const scratch = scratchDir('/dev/shm'); // the kill test is about crashes of the process, not of the machine
afterAll(() => scratch.cleanup());

/** A payload naming its sender, padded to a random size so records cross pages. */
function payload(rng: Prng, tag: string): string {
  return `${tag}:${'x'.repeat(rng.int(6000))}`;
}

/** Requests sent and not yet answered, across all clients. */
let pending = 0;

/** One client: random requests until `stop()` says so or the service goes away under it. */
async function client(service: Service, rng: Prng, tag: string, model: Acknowledged, stop: () => boolean): Promise<number> {
  let answered = 0;
  for (let n = 0; !stop(); n++) {
    const dice = rng.next();
    pending++;
    try {
      if (dice < 0.5) {
        const topic = rng.pick(TOPICS);
        const data = payload(rng, `${tag}.${n}`);
        model.sendAppend(topic, data);
        const reply = await service.send('POST', `/topics/${topic}`, Buffer.from(data));
        if (reply.status === 200) model.ackAppend(topic, (JSON.parse(reply.body.toString()) as { offset: number }).offset, data);
      } else if (dice < 0.9) {
        const key = rng.pick(KEYS);
        const put = model.sendPut(key, payload(rng, `${tag}.${n}`));
        const reply = await service.send('PUT', `/blobs/${key}`, Buffer.from(put.value));
        if (reply.status === 200) model.ackPut(put);
      } else {
        await service.send('GET', `/blobs/${rng.pick(KEYS)}`);
      }
      answered++;
    } catch {
      return answered; // the connection died with the service
    } finally {
      pending--;
    }
  }
  return answered;
}

async function readTopic(service: Service, topic: string): Promise<Map<number, string>> {
  const records = new Map<number, string>();
  for (let from = 0; ; ) {
    const reply = await service.send('GET', `/topics/${topic}?from=${from}`);
    expect(reply.status).toBe(200);
    const page = JSON.parse(reply.body.toString()) as { records: { offset: number; data: string }[]; next: number };
    if (page.records.length === 0) return records;
    for (const r of page.records) records.set(r.offset, Buffer.from(r.data, 'base64').toString());
    from = page.next;
  }
}

function checkPool(path: string): void {
  const pool = Pool.open(path, { readonly: true });
  try {
    expect(pool.check().problems).toEqual([]);
  } finally {
    pool.closeSync();
  }
}

it(`keeps every acknowledged append and put across ${KILLS} SIGKILLs under load`, async () => {
  console.log(`records-service kill test: seed ${SEED} (replay with RECORDS_SERVICE_SEED=${SEED})`);
  const rng = new Prng(SEED);
  const model = new Acknowledged();
  const poolPath = scratch.file('records.pool');
  let killedMidRequest = 0;

  for (let round = 0; round < KILLS; round++) {
    const service = await startService(poolPath);
    if (round > 0) expect(service.output()).toMatch(/recovered from an unclean end/);
    let killed = false;
    const clients = Array.from({ length: CLIENTS }, (_, c) =>
      client(service, new Prng(rng.int(2 ** 32)), `r${round}c${c}`, model, () => killed),
    );
    await new Promise((resolve) => setTimeout(resolve, 200 + rng.int(800)));
    const inFlight = pending;
    killed = true;
    service.child.kill('SIGKILL');
    expect(await service.exit).toEqual({ code: null, signal: 'SIGKILL' });
    model.processEnded();
    const answered = await Promise.all(clients);
    if (inFlight > 0 && answered.some((n) => n > 0)) killedMidRequest++;
    checkPool(poolPath);
  }
  expect(killedMidRequest).toBe(KILLS);
  expect(model.appends.length).toBeGreaterThan(0);

  const service = await startService(poolPath);
  const problems: string[] = [];
  for (const topic of TOPICS) {
    const records = await readTopic(service, topic);
    const attempted = model.attempted.get(topic) ?? new Set<string>();
    for (const { offset, payload: data } of model.appends.filter((a) => a.topic === topic)) {
      if (records.get(offset) !== data) problems.push(`${topic}@${offset}: acknowledged, but reads ${records.get(offset)?.slice(0, 20)}`);
    }
    for (const [offset, data] of records) if (!attempted.has(data)) problems.push(`${topic}@${offset}: a record nobody sent`);
  }
  for (const key of KEYS) {
    const reply = await service.send('GET', `/blobs/${key}`);
    problems.push(...model.checkPut(key, reply.status === 404 ? null : reply.body.toString()));
  }
  expect(problems).toEqual([]);

  service.child.kill('SIGTERM');
  expect(await service.exit).toEqual({ code: 0, signal: null });
  expect(service.output()).toMatch(/SIGTERM: draining\nclosed/);
  const pool = Pool.open(poolPath);
  try {
    expect(pool.info.unsafeShutdown.dirty).toBe(false);
    expect([...pool.list({ prefix: 'tmp/' })]).toEqual([]);
    expect(pool.check().ok).toBe(true);
  } finally {
    pool.closeSync();
  }
});

it('in the cluster mode (WORKERS=2) workers read beside the writing primary: each acknowledged write reads back at once, a killed worker is replaced, SIGTERM drains', async () => {
  const rng = new Prng(SEED ^ 0x5a5a5a5a);
  const model = new Acknowledged();
  const poolPath = scratch.file('cluster.pool');
  const service = await startService(poolPath, { WORKERS: '2' });
  const problems: string[] = [];
  // Read-your-writes through whichever worker answers: an acknowledged append is in the next read.
  const appendAndRead = async (tag: string): Promise<void> => {
    for (let n = 0; n < 40; n++) {
      const topic = rng.pick(TOPICS);
      const data = payload(rng, `${tag}.${n}`);
      model.sendAppend(topic, data);
      const reply = await service.send('POST', `/topics/${topic}`, Buffer.from(data));
      if (reply.status !== 200) {
        problems.push(`append: ${reply.status} ${reply.body.toString()}`);
        continue;
      }
      const { offset } = JSON.parse(reply.body.toString()) as { offset: number };
      model.ackAppend(topic, offset, data);
      const read = await service.send('GET', `/topics/${topic}?from=${offset}`);
      const page = JSON.parse(read.body.toString()) as { records: { offset: number; data: string }[] };
      const first = page.records[0];
      if (first?.offset !== offset || Buffer.from(first.data, 'base64').toString() !== data) problems.push(`${topic}@${offset} not read back`);
    }
  };
  await Promise.all(Array.from({ length: 6 }, (_, c) => appendAndRead(`c${c}`)));
  expect(problems).toEqual([]);

  // A worker killed under load: the primary starts another, and clients on the other go on. The service
  // listens once one worker does; the other may still be opening its reader on a busy machine.
  const listening = (): number[] => [...service.output().matchAll(/listening on \S+ \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  for (let waited = 0; waited < 10_000 && listening().length < 2; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  const pids = listening();
  expect(pids.length, service.output()).toBe(2);
  const worker = pids[0] as number;
  expect(worker).not.toBe(service.child.pid);
  process.kill(worker, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(service.output()).toMatch(/worker \d+ ended \(SIGKILL\): starting another/);
  await appendAndRead('after');
  expect(problems).toEqual([]);
  for (const key of KEYS.slice(0, 2)) {
    const put = model.sendPut(key, payload(rng, key));
    expect((await service.send('PUT', `/blobs/${key}`, Buffer.from(put.value))).status).toBe(200);
    model.ackPut(put);
    const got = await service.send('GET', `/blobs/${key}`);
    expect(model.checkPut(key, got.body.toString())).toEqual([]);
  }

  service.child.kill('SIGTERM');
  expect(await service.exit).toEqual({ code: 0, signal: null });
  expect(service.output()).toMatch(/SIGTERM: draining\n(.*\n)*closed/);
  for (const topic of TOPICS) {
    const pool = Pool.open(poolPath, { readonly: true });
    try {
      expect(pool.exists(`topics/${topic}`)).toBe(true);
    } finally {
      pool.closeSync();
    }
  }
  checkPool(poolPath);
}, 60_000);
