// attribute.mjs -- what the JavaScript thread was doing during the longest pieces of the pool's promise
// methods, from a system-wide trace of the run (perf, `--attribute`): every context switch and wake-up on
// every CPU, and a CPU-clock sample of whatever runs, HZ times a second per CPU. A piece's wall time
// (pool.stats().longestHolds) splits into:
//   waiting  -- runnable, off the CPU (preempted, or woken and not yet run): the machine's contention
//   blocked  -- asleep in the kernel (a system call, a page fault, a lock): the pool's doing
//   frozen   -- on the CPU by the guest kernel's account, yet no CPU of the machine took a sample for longer
//               than two sample periods (the period each CPU actually kept, which the kernel lowers when
//               sampling costs too much): the virtual machine was not running (its host ran something
//               else). Only time when every CPU was silent counts: one CPU's silence could be its
//               interrupts being off, which is the kernel working for the thread.
//   running  -- the rest: the pool's doing (a garbage collection started by an allocation in the piece
//               counts here too)
// attributable = blocked + running. A piece the trace cannot account for is attributable whole: the thread
// off the CPU at the piece's start or end by the trace, a switch that contradicts the one before it, a sample
// of the thread while the trace has it off the CPU (each a sign of lost events or clocks that disagree), or a
// CPU of the machine that took no sample near the piece.
import { spawnSync } from 'node:child_process';

/** CPU-clock samples asked for per second per CPU (a 250 µs period). */
export const HZ = 4000;
/** A sample this close to a switch belongs to either side of it. */
const EDGE_MS = 0.02;

/** The `perf record` arguments that trace a command into `out`, on the monotonic clock (as `process.hrtime`). */
export function perfRecordArgs(out) {
  // Every switch and wake-up (-c 1: a frequency would sample them too, and skip some); the clock at HZ.
  return ['record', '-a', '-k', 'mono', '-c', '1', '-e', 'sched:sched_switch', '-e', 'sched:sched_wakeup', '-e', `cpu-clock/freq=${HZ}/`, '-o', out, '--'];
}

/** Whether this machine can trace every CPU (perf installed, and allowed: root or perf_event_paranoid <= 0). */
export function canTrace() {
  const r = spawnSync('perf', ['record', '-q', '-a', '-e', 'sched:sched_switch', '-o', '/dev/null', '--', 'true'], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * The trace of thread `tid`: its state changes (time in ms and the state entered: `on` the CPU, `R`
 * runnable off it, or the sleeping state it left the CPU in), and the CPU-clock sample times of every CPU
 * (`cpus`, sorted) and of the thread; `lost` when perf says it lost events. Times on the monotonic clock, ms.
 */
export function readTrace(file, tid) {
  const r = spawnSync('perf', ['script', '-i', file, '-F', 'tid,cpu,time,event,trace'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`perf script failed: ${r.stderr}`);
  const id = String(tid);
  const events = [];
  const own = [];
  const byCpu = new Map();
  let switches = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):/.exec(line);
    if (m === null) continue;
    const t = Number(m[3]) * 1000;
    if (m[4].startsWith('cpu-clock')) {
      if (!byCpu.has(m[2])) byCpu.set(m[2], []);
      byCpu.get(m[2]).push(t);
      if (m[1] === id) own.push(t);
      continue;
    }
    if (m[4] === 'sched:sched_wakeup') {
      if (/ pid=(\d+) /.exec(line)?.[1] === id) events.push({ t, state: 'R', wake: true });
      continue;
    }
    const sw = /prev_pid=(\d+) .*prev_state=(\S+) ==> .*next_pid=(\d+)/.exec(line);
    if (sw === null) continue;
    if (sw[1] === id) events.push({ t, state: sw[2].startsWith('R') ? 'R' : sw[2], wake: false });
    else if (sw[3] === id) events.push({ t, state: 'on', wake: false });
    else continue;
    switches++;
  }
  // A thread that never switched is a trace this code cannot read (another format, another pid namespace).
  if (switches === 0) throw new Error(`no context switch of thread ${tid} in the trace`);
  const sorted = (xs) => Float64Array.from(xs).sort();
  const cpus = [...byCpu.values()].map(sorted);
  return { states: statesOf(events), own: sorted(own), cpus, periods: cpus.map(medianGap), lost: lostRecords(file) };
}

/**
 * The thread's states, in time order, from its switches and wake-ups ({ t, state, wake }). A wake-up of a
 * thread on the CPU or already runnable changes nothing; a switch that does not follow its opposite (out
 * while off, in while on) is marked `bad`: an event went missing.
 */
export function statesOf(events) {
  const states = [];
  // Unknown before the first event.
  let state = null;
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    if (e.wake) {
      if (state !== 'on' && state !== 'R') states.push({ t: e.t, state: (state = 'R'), bad: false });
      continue;
    }
    states.push({ t: e.t, state: e.state, bad: state !== null && (e.state === 'on') === (state === 'on') });
    state = e.state;
  }
  return states;
}

/** What `perf report --stats` counts of lost events, lost samples and throttling: any is a trace to distrust. */
function lostRecords(file) {
  const r = spawnSync('perf', ['report', '--stats', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return true;
  return /^\s*(LOST|LOST_SAMPLES|THROTTLE)\s+events:\s*[1-9]/m.test(r.stdout);
}

/** The typical gap between a CPU's samples: its sampling period as kept. */
function medianGap(samples) {
  const gaps = [];
  for (let i = 1; i < samples.length; i++) gaps.push(samples[i] - samples[i - 1]);
  gaps.sort((a, b) => a - b);
  return gaps.length > 0 ? gaps[gaps.length >> 1] : Infinity;
}

/** Index of the first element of sorted `xs` that is >= `x`. */
function lowerBound(xs, x, key = (v) => v) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(xs[mid]) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The silences of one CPU inside [a, b): gaps between its samples (and the ends) longer than two of its periods. */
function silences(samples, period, a, b) {
  const out = [];
  let prev = a;
  for (let k = lowerBound(samples, a); k <= samples.length; k++) {
    const t = k < samples.length && samples[k] < b ? samples[k] : b;
    if (t - prev > 2 * period) out.push([prev, t]);
    prev = t;
    if (t === b) break;
  }
  return out;
}

/** The intersection of two sorted lists of disjoint intervals. */
function intersect(xs, ys) {
  const out = [];
  for (let i = 0, j = 0; i < xs.length && j < ys.length; ) {
    const lo = Math.max(xs[i][0], ys[j][0]);
    const hi = Math.min(xs[i][1], ys[j][1]);
    if (lo < hi) out.push([lo, hi]);
    if (xs[i][1] < ys[j][1]) i++;
    else j++;
  }
  return out;
}

/** Splits the piece [startMs, endMs) (monotonic ms) of the traced thread; see the top of this file. */
export function attributePiece(trace, startMs, endMs) {
  const out = { wall: endMs - startMs, waiting: 0, blocked: 0, running: 0, frozen: 0, accounted: true };
  const st = trace.states;
  // The slowest CPU's period bounds "silent"; a CPU with no sample within a few periods of the piece says nothing.
  const period = Math.max(...trace.periods);
  for (const cpu of trace.cpus) {
    const k = lowerBound(cpu, startMs - 4 * period);
    if (k >= cpu.length || cpu[k] > endMs + 4 * period) out.accounted = false;
  }
  let i = lowerBound(st, startMs, (s) => s.t);
  let state = i > 0 ? st[i - 1].state : 'on';
  if (state !== 'on') out.accounted = false;
  let at = startMs;
  const segment = (to) => {
    if (to <= at) return;
    if (state !== 'on') {
      // The thread sampled while the trace has it off the CPU (not just at the switch): a switch went missing.
      const k = lowerBound(trace.own, at + EDGE_MS);
      if (k < trace.own.length && trace.own[k] < to - EDGE_MS) out.accounted = false;
      if (state === 'R') out.waiting += to - at;
      else out.blocked += to - at;
    } else {
      // On the CPU: frozen where the thread's samples and every CPU's fall silent together.
      let silent = silences(trace.own, period, at, to);
      trace.cpus.forEach((cpu, c) => {
        silent = intersect(silent, silences(cpu, trace.periods[c], at, to));
      });
      const frozen = silent.reduce((sum, [a, b]) => sum + (b - a > 2 * period ? b - a - period : 0), 0);
      out.frozen += frozen;
      out.running += to - at - frozen;
    }
    at = to;
  };
  for (; i < st.length && st[i].t < endMs; i++) {
    segment(st[i].t);
    if (st[i].bad) out.accounted = false;
    state = st[i].state;
  }
  segment(endMs);
  if (state !== 'on') out.accounted = false;
  const attributable = out.accounted ? out.blocked + out.running : out.wall;
  return { ...out, attributable };
}
