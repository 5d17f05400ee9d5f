import { Pool, type PoolFile } from '../../../lib';
import type { DaxDevice } from '../../../lib/device/types';
import { MemoryDevice, SimulatedCrash, StrictMemoryDevice } from '../../../lib/testing';
import { Prng } from '../../dax/support/prng';
import { MAX_FILE, OrderModel, type Effect } from './order-model';

export interface OrderRunOptions {
  readonly seed: number;
  readonly steps: number;
  /** Close handles and the pool with calls in flight (the close-waits spec); otherwise only once they settled. */
  readonly closeInFlight: boolean;
  /** Arm a crash at a random step, and verify crash images taken at random drains. */
  readonly crash: boolean;
  /** The device to run on; a StrictMemoryDevice (with persistAsync by seed) when absent. */
  readonly device?: () => DaxDevice;
}

export interface OrderRunResult {
  /** Broken promises of the pool, each with where it happened. */
  readonly problems: string[];
  readonly calls: Map<string, number>;
  /** Crash images opened and verified. */
  crashImages: number;
  crashed: boolean;
  /** Most calls in flight at once. */
  maxInFlight: number;
  /** The model with its log of calls, to reduce a failure. */
  readonly model: OrderModel;
}

const FILES = 3;
const POOL_SIZE = 2 * 1024 * 1024;
const NAMES = ['f0', 'f1', 'f2'];

interface Handle {
  readonly file: number;
  readonly sync: boolean;
  readonly f: PoolFile;
  readonly id: number;
}

/** One async call not yet settled. */
interface Pending {
  readonly file: number;
  readonly handle: number;
  readonly kind: string;
  /** Its place among the calls of its file that take turns (-1 for reads and closes). */
  readonly turn: number;
  /** The range a write or append changes, when it is one. */
  readonly range: readonly [number, number] | null;
  settled: boolean;
  readonly promise: Promise<unknown>;
}

const isClosed = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 'ERR_PMEMDAX_CLOSED';
const isEagain = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 'EAGAIN';
const describeError = (e: unknown): string => (e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e));

/**
 * orderRun -- one seeded program of calls over three files with two or three handles each (some
 * `{ sync: true }`), issued without awaiting, with random waits between, checked against
 * OrderModel: append offsets, reads of ranges nothing in flight touches, the order promises of a file
 * settle in, the content once everything settled and after a close and reopen, and what crash
 * images keep of the calls acknowledged durable.
 */
/** Mode 0: write-back inline; 1: deferred, promise writes stored by jobs; 2: deferred, stored on the thread. */
function strictDeviceFor(mode: number, random: () => number): StrictMemoryDevice {
  return new StrictMemoryDevice(POOL_SIZE, { persistAsync: mode > 0, storeJobs: mode === 1, random });
}

export async function orderRun(o: OrderRunOptions): Promise<OrderRunResult> {
  const rng = new Prng(o.seed);
  const delays = new Prng(rng.int(2 ** 32));
  const strictDevice = o.device === undefined ? strictDeviceFor(rng.int(3), () => delays.next()) : null;
  const device = strictDevice ?? (o.device as () => DaxDevice)();
  const model = new OrderModel(FILES);
  const result: OrderRunResult = { problems: [], calls: new Map(), crashImages: 0, crashed: false, maxInFlight: 0, model };
  let step = 0;
  const problem = (what: string): void => {
    result.problems.push(`seed ${o.seed} step ${step}: ${what}`);
  };
  const count = (kind: string): void => {
    result.calls.set(kind, (result.calls.get(kind) ?? 0) + 1);
  };
  const crashed = (): boolean => strictDevice?.crashed === true;

  const pool = Pool.createOn(device, { journalBytes: 64 * 1024 });
  const handles: Handle[] = [];
  let handleIds = 0;
  const openHandle = (file: number): void => {
    const sync = rng.int(3) === 0;
    handles.push({ file, sync, f: pool.open(NAMES[file] as string, { create: true, sync }), id: handleIds++ });
  };
  for (let file = 0; file < FILES; file++) for (let i = 0, n = 2 + rng.int(2); i < n; i++) openHandle(file);

  const pending: Pending[] = [];
  const turns = new Array<number>(FILES).fill(0);
  const lastSettledTurn = new Array<number>(FILES).fill(-1);
  const landed = new Array<number>(FILES).fill(0);
  const inFlight = (): Pending[] => pending.filter((p) => !p.settled);

  /**
   * Track an async call: `onOk` runs when it resolves; a rejection is a problem unless the power
   * failed. The calls of a file that take turns must settle in call order.
   */
  const track = (h: Handle, kind: string, takesTurn: boolean, range: readonly [number, number] | null, promise: Promise<unknown>, onOk: (v: unknown) => void): Pending => {
    const turn = takesTurn ? (turns[h.file] as number) : -1;
    if (takesTurn) turns[h.file] = turn + 1;
    const p: Pending = { file: h.file, handle: h.id, kind, turn, range, settled: false, promise };
    const settle = (): void => {
      p.settled = true;
      if (turn < 0) return;
      if (turn < (lastSettledTurn[h.file] as number)) problem(`${kind} (turn ${turn} of f${h.file}) settled after turn ${lastSettledTurn[h.file]}`);
      lastSettledTurn[h.file] = Math.max(lastSettledTurn[h.file] as number, turn);
    };
    promise.then(
      (v) => {
        settle();
        onOk(v);
      },
      (e: unknown) => {
        settle();
        if (!crashed() && !(e instanceof SimulatedCrash)) problem(`${kind} on f${h.file} rejected: ${describeError(e)}`);
      },
    );
    pending.push(p);
    result.maxInFlight = Math.max(result.maxInFlight, inFlight().length);
    return p;
  };
  const ack = (e: Effect): void => {
    if (!crashed()) e.ackedAt = model.tick();
  };

  /** Images are opened in this device, reused. */
  const imageDev = new MemoryDevice(POOL_SIZE);
  const verifyImage = (where: string): void => {
    result.crashImages++;
    let after: Pool;
    try {
      after = Pool.openOn(imageDev, { path: 'crash-image' });
    } catch (e) {
      problem(`${where}: opening the crash image failed: ${describeError(e)}`);
      return;
    }
    // Nothing may escape: this runs inside a drain of the pool under test.
    try {
      const c = after.check();
      if (!c.ok) problem(`${where}: check: ${JSON.stringify(c.problems)}`);
      for (let file = 0; file < FILES; file++) {
        const f = after.open(NAMES[file] as string, { readonly: true });
        const bytes = new Uint8Array(f.size);
        f.readSync(bytes, 0);
        const why = model.crashProblem(file, f.size, bytes);
        if (why !== null) problem(`${where}: f${file}: ${why}`);
        f.close();
      }
      after.close();
    } catch (e) {
      problem(`${where}: reading the crash image failed: ${describeError(e)}`);
    }
  };
  const imageNow = (where: string): void => {
    if (strictDevice === null) return;
    strictDevice.crashImageInto(imageDev.bytes, () => rng.next(), { newest: [0, 1, 0.5, rng.next()][rng.int(4)] as number });
    verifyImage(where);
  };

  if (strictDevice !== null && o.crash) {
    let next = strictDevice.drains + 1 + rng.int(40);
    strictDevice.onDrain = (drain) => {
      if (drain < next) return;
      next = drain + 1 + rng.int(40);
      imageNow(`image at drain ${drain}`);
    };
  }
  const crashStep = o.crash ? rng.int(o.steps + 10) : -1;

  /**
   * A sync call. Its write (when it makes one) is logged before it runs, unacknowledged, as a drain
   * inside it may show its bytes in a crash image; a refusal (EAGAIN) takes the write back.
   */
  const syncCall = (kind: string, file: number, call: () => void, write: Effect | null = null): boolean => {
    count(kind);
    try {
      call();
      if (write !== null) ack(write);
      return true;
    } catch (e) {
      // After a crash a call may also fail with EIO (the pool refuses commits once a write-back failed).
      if (e instanceof SimulatedCrash || crashed()) throw e;
      if (write !== null) model.retract(write);
      if (isEagain(e)) {
        count(`${kind} (EAGAIN)`);
        if (!inFlight().some((p) => p.file === file && p.turn >= 0)) problem(`${kind} on f${file} got EAGAIN with no call of the file in flight`);
        return false;
      }
      problem(`${kind} on f${file} threw ${describeError(e)}`);
      return false;
    }
  };

  /** Check a read of [pos, pos+len) against the model when nothing in flight touches it. */
  const readExpect = (file: number, pos: number, len: number): { n: number; bytes: Uint8Array } | null => {
    const busy = inFlight().filter((p) => p.file === file && p.turn >= 0);
    if (busy.some((p) => p.kind === 'truncate' || p.kind === 'fallocate')) return null;
    if (busy.some((p) => p.range !== null && p.range[0] < pos + len && pos < p.range[1])) return null;
    const size = model.sizes[file] as number;
    if (pos + len <= (landed[file] as number)) return { n: len, bytes: (model.content[file] as Uint8Array).slice(pos, pos + len) };
    if (pos >= size) return { n: 0, bytes: new Uint8Array(0) };
    return null;
  };
  const checkRead = (kind: string, file: number, pos: number, want: { n: number; bytes: Uint8Array }, n: number, buf: Uint8Array): void => {
    count(`${kind} checked`);
    if (n !== want.n) problem(`${kind} f${file} at ${pos}: read ${n} bytes, the model says ${want.n}`);
    else if (Buffer.compare(buf.subarray(0, n), want.bytes) !== 0) problem(`${kind} f${file} at ${pos}+${n}: content differs from the model`);
  };

  const pickLen = (): number => [1 + rng.int(64), 1 + rng.int(4096), 4096, 1 + rng.int(9000)][rng.int(4)] as number;
  const pickPos = (file: number, len: number): number => {
    const size = model.sizes[file] as number;
    const room = MAX_FILE - len;
    const p = [rng.int(room + 1), Math.floor(rng.int(room + 1) / 4096) * 4096, Math.min(room, size), Math.max(0, Math.min(room, size - rng.int(200)))][rng.int(4)] as number;
    return Math.max(0, Math.min(room, p));
  };

  /** Close a handle (after its calls settled, unless closing in flight) and open another on its file. */
  const closeHandle = async (h: Handle): Promise<void> => {
    handles.splice(handles.indexOf(h), 1);
    const before = inFlight().filter((p) => p.handle === h.id);
    if (!o.closeInFlight) await Promise.allSettled(before.map((p) => p.promise));
    count('close');
    const done: unknown = h.f.close();
    const closing = Promise.resolve(done);
    track(h, 'close', false, null, closing, () => {
      const open = before.filter((p) => !p.settled);
      if (open.length > 0) problem(`file.close() of a f${h.file} handle settled before its ${open.map((p) => p.kind).join(', ')}`);
    });
    // A call after close fails with ERR_PMEMDAX_CLOSED, changing nothing.
    try {
      await h.f.write(new Uint8Array(1), 0);
      problem(`a write on a closed handle of f${h.file} resolved`);
    } catch (e) {
      if (!isClosed(e)) problem(`a write on a closed handle of f${h.file} failed with ${describeError(e)}`);
    }
    openHandle(h.file);
  };

  const stepOnce = async (): Promise<void> => {
    const h = rng.pick(handles);
    const file = h.file;
    const r = rng.int(100);
    if (r < 20) {
      const len = pickLen();
      const pos = pickPos(file, len);
      const data = rng.bytes(len);
      count('write');
      const e = model.write(file, pos, data, true, h.sync);
      track(h, 'write', true, [pos, pos + len], h.f.write(data, pos), (n) => {
        if (n !== len) problem(`write f${file} at ${pos} returned ${String(n)}, not ${len}`);
        landed[file] = Math.max(landed[file] as number, pos + len);
        ack(e);
      });
    } else if (r < 32) {
      const len = pickLen();
      const pos = pickPos(file, len);
      const data = rng.bytes(len);
      let n = -1;
      if (syncCall('writeSync', file, () => (n = h.f.writeSync(data, pos)), model.write(file, pos, data, false, h.sync))) {
        if (n !== len) problem(`writeSync f${file} at ${pos} returned ${n}, not ${len}`);
        landed[file] = Math.max(landed[file] as number, pos + len);
      }
    } else if (r < 44) {
      const len = pickLen();
      const at = model.sizes[file] as number;
      if (at + len > MAX_FILE) return;
      const data = rng.bytes(len);
      count('append');
      const e = model.write(file, at, data, true, h.sync);
      track(h, 'append', true, [at, at + len], h.f.append(data), (got) => {
        if (got !== at) problem(`append to f${file} resolved offset ${String(got)}, the model says ${at}`);
        landed[file] = Math.max(landed[file] as number, at + len);
        ack(e);
      });
    } else if (r < 52) {
      const len = pickLen();
      const at = model.sizes[file] as number;
      if (at + len > MAX_FILE) return;
      const data = rng.bytes(len);
      let got = -1;
      // Placed after the appends and writes in flight: the model's size includes them.
      if (syncCall('appendSync', file, () => (got = h.f.appendSync(data)), model.write(file, at, data, false, h.sync))) {
        if (got !== at) problem(`appendSync to f${file} returned offset ${got}, the model says ${at}`);
        landed[file] = Math.max(landed[file] as number, got + len);
      }
    } else if (r < 62) {
      const len = pickLen();
      const pos = rng.int(MAX_FILE);
      const want = readExpect(file, pos, len);
      const buf = new Uint8Array(len);
      if (rng.int(2) === 0) {
        count('readSync');
        const n = h.f.readSync(buf, pos);
        if (want !== null) checkRead('readSync', file, pos, want, n, buf);
      } else {
        count('read');
        const since = model.effects.length;
        track(h, 'read', false, null, h.f.read(buf, pos), (n) => {
          // Checked only when nothing made since the call touched the range either (a read never waits, but may run later).
          const touched = model.effects.slice(since).some((e) => e.file === file && (e.kind === 'truncate' || (e.pos < pos + len && pos < e.pos + e.length)));
          if (want !== null && !touched) checkRead('read', file, pos, want, n as number, buf);
        });
      }
    } else if (r < 68) {
      const size = rng.int(4) === 0 ? 0 : rng.int(MAX_FILE + 1);
      count('truncate');
      const e = model.truncate(file, size);
      track(h, 'truncate', true, null, h.f.truncate(size), () => {
        landed[file] = size;
        ack(e);
      });
    } else if (r < 71) {
      const mode = rng.pick(['allocate', 'keep-size', 'punch-hole', 'zero-range'] as const);
      const len = pickLen();
      const pos = pickPos(file, len);
      const size = model.sizes[file] as number;
      count(`fallocate ${mode}`);
      // What each mode does to what reads see: zeros in the range (within the size for a punch), and a longer file unless keep-size or punch.
      let e: Effect | null = null;
      if (mode === 'punch-hole') e = pos < size ? model.zero(file, pos, Math.min(len, size - pos), false) : null;
      else if (mode === 'zero-range') e = model.zero(file, pos, len, true);
      else if (mode === 'allocate' && pos + len > size) e = model.zero(file, Math.max(pos, size), pos + len - Math.max(pos, size), true);
      track(h, 'fallocate', true, null, h.f.fallocate(mode, pos, len), () => {
        if (e?.grows === true) landed[file] = Math.max(landed[file] as number, e.pos + e.length);
        if (e !== null) ack(e);
      });
    } else if (r < 76) {
      count('fsync');
      const sp = model.syncPoint(file, true);
      track(h, 'fsync', true, null, h.f.fsync(), () => {
        if (!crashed()) sp.ackedAt = model.tick();
      });
    } else if (r < 82) {
      const sp = model.syncPoint(file, false);
      if (syncCall('fsyncSync', file, () => h.f.fsyncSync()) && !crashed()) sp.ackedAt = model.tick();
    } else if (r < 87) {
      const sp = model.syncPoint(null, false);
      count('pool.sync');
      const done: unknown = pool.sync();
      await done;
      if (!crashed()) sp.ackedAt = model.tick();
    } else if (r < 90) {
      await closeHandle(h);
    } else {
      // Let calls run: a microtask, a macrotask, or until one call in flight settles.
      const open = inFlight();
      const w = rng.int(3);
      if (w === 0) await Promise.resolve();
      else if (w === 1 || open.length === 0) await new Promise((resolve) => setImmediate(resolve));
      else await Promise.allSettled([rng.pick(open).promise]);
    }
  };

  try {
    for (step = 0; step < o.steps && !crashed(); step++) {
      if (step === crashStep) strictDevice?.crashAt(1 + rng.int(8));
      await stepOnce();
      if (rng.int(4) === 0) await Promise.resolve();
    }
    if (!crashed()) await finish();
  } catch (e) {
    if (!(e instanceof SimulatedCrash) && !crashed()) throw e;
  }
  if (crashed()) {
    result.crashed = true;
    await settleAll('after the crash');
    for (let i = 0; i < 3; i++) imageNow(`crash at drain ${strictDevice?.crashedAt}, image ${i}`);
  }
  if (strictDevice !== null) strictDevice.onDrain = null;
  return result;

  /** Wait for every call in flight (a hung call is a problem, not a hung test). */
  async function settleAll(when: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 5000);
    });
    const all = Promise.allSettled(pending.map((p) => p.promise));
    if ((await Promise.race([all, timeout])) === 'timeout') problem(`${when}: calls never settled: ${inFlight().map((p) => `${p.kind} f${p.file}`).join(', ')}`);
    clearTimeout(timer);
  }

  /** Close the pool (with calls in flight, or after they settled), check the content, reopen and check it again. */
  async function finish(): Promise<void> {
    if (!o.closeInFlight) {
      await settleAll('before close');
      // A crash armed late may have fired while the last calls ran.
      if (crashed()) return;
      compareLive();
    }
    const before = inFlight();
    const done: unknown = pool.close();
    if (before.length === 0 && !pool.closed) problem('pool.close() with nothing in flight did not finish before returning');
    try {
      handles[0]?.f.writeSync(new Uint8Array(1), 0);
      problem('writeSync after pool.close() succeeded');
    } catch (e) {
      if (!isClosed(e)) problem(`writeSync after pool.close() threw ${describeError(e)}`);
    }
    await done;
    const open = before.filter((p) => !p.settled);
    if (open.length > 0 && !crashed()) problem(`pool.close() settled before ${open.map((p) => `${p.kind} f${p.file}`).join(', ')}`);
    await settleAll('after close');
    if (crashed()) return;
    const again = Pool.openOn(device);
    try {
      for (let file = 0; file < FILES; file++) compareFile(again.open(NAMES[file] as string, { readonly: true }), file, 'after reopen');
      const c = again.check();
      if (!c.ok) problem(`check after reopen: ${JSON.stringify(c.problems)}`);
    } finally {
      again.close();
    }
  }

  function compareLive(): void {
    for (let file = 0; file < FILES; file++) {
      const h = handles.find((x) => x.file === file);
      if (h !== undefined) compareFile(h.f, file, 'once every call settled');
    }
  }

  function compareFile(f: PoolFile, file: number, when: string): void {
    const size = model.sizes[file] as number;
    if (f.size !== size) {
      problem(`${when}: f${file} is ${f.size} bytes, the model ${size}`);
      return;
    }
    const bytes = new Uint8Array(size);
    f.readSync(bytes, 0);
    const want = (model.content[file] as Uint8Array).subarray(0, size);
    if (Buffer.compare(bytes, want) !== 0) {
      const at = bytes.findIndex((b, i) => b !== want[i]);
      problem(`${when}: f${file} differs from the model at byte ${at} (${bytes[at]} vs ${want[at]})`);
    }
  }
}
