// attribute.mjs -- what the JavaScript thread was doing during the longest pieces of the pool's promise
// methods, from a system-wide trace of the run (perf, `--attribute`): every context switch and wake-up on
// every CPU, and a CPU-clock sample of whatever runs, HZ times a second per CPU. A piece's wall time
// (pool.stats().longestHolds) splits into:
//   waiting  -- runnable, off the CPU (preempted, or woken and not yet run): the machine's contention
//   blocked  -- asleep in the kernel (a system call, a page fault, a lock): the pool's doing
//   frozen   -- on the CPU by the guest kernel's account, yet no CPU of the machine took a sample for longer
//               than two sample periods: the virtual machine was not running (its host ran something
//               else). Only time when every CPU was silent counts: one CPU's silence could be its
//               interrupts being off, which is the kernel working for the thread.
//   running  -- the rest: the pool's doing (a garbage collection started by an allocation in the piece
//               counts here too)
// attributable = blocked + running. A piece the trace cannot account for (the thread not on the CPU when the
// piece started or ended by the trace's account: lost events, or clocks that disagree) is attributable whole.
import { spawnSync } from 'node:child_process';

/** CPU-clock samples per second per CPU: a 250 µs period, so a silence over 500 µs is a frozen machine. */
export const HZ = 4000;
const PERIOD_MS = 1000 / HZ;

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
  const r = spawnSync('perf', ['script', '--show-lost-events', '-i', file, '-F', 'tid,cpu,time,event,trace'], { encoding: 'utf8', maxBuffer: 1 << 29 });
  if (r.status !== 0) throw new Error(`perf script failed: ${r.stderr}`);
  const id = String(tid);
  const states = [];
  const own = [];
  const byCpu = new Map();
  let lost = /lost/i.test(r.stderr);
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):/.exec(line);
    if (m === null) {
      if (/LOST/.test(line)) lost = true;
      continue;
    }
    const t = Number(m[3]) * 1000;
    if (m[4].startsWith('cpu-clock')) {
      if (!byCpu.has(m[2])) byCpu.set(m[2], []);
      byCpu.get(m[2]).push(t);
      if (m[1] === id) own.push(t);
      continue;
    }
    const last = states.length > 0 ? states[states.length - 1].state : 'on';
    if (m[4] === 'sched:sched_wakeup') {
      // Woken: runnable until switched in. (A wake-up of a thread still on the CPU, or runnable, changes nothing.)
      if (/ pid=(\d+) /.exec(line)?.[1] === id && last !== 'on' && last !== 'R') states.push({ t, state: 'R' });
      continue;
    }
    const sw = /prev_pid=(\d+) .*prev_state=(\S+) ==> .*next_pid=(\d+)/.exec(line);
    if (sw === null) continue;
    if (sw[1] === id) states.push({ t, state: sw[2].startsWith('R') ? 'R' : sw[2] });
    else if (sw[3] === id) states.push({ t, state: 'on' });
  }
  return { states, own: Float64Array.from(own), cpus: [...byCpu.values()].map((xs) => Float64Array.from(xs)), lost };
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

/** The silences of one CPU inside [a, b): gaps between its samples (and the ends) longer than two periods. */
function silences(samples, a, b) {
  const out = [];
  let prev = a;
  for (let k = lowerBound(samples, a); k <= samples.length; k++) {
    const t = k < samples.length && samples[k] < b ? samples[k] : b;
    if (t - prev > 2 * PERIOD_MS) out.push([prev, t]);
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
  let i = lowerBound(st, startMs, (s) => s.t);
  let state = i > 0 ? st[i - 1].state : 'on';
  if (state !== 'on') out.accounted = false;
  let at = startMs;
  const segment = (to) => {
    if (to <= at) return;
    if (state === 'R') out.waiting += to - at;
    else if (state !== 'on') out.blocked += to - at;
    else {
      // On the CPU: frozen where the thread's samples and every CPU's fall silent together.
      let silent = silences(trace.own, at, to);
      for (const cpu of trace.cpus) silent = intersect(silent, silences(cpu, at, to));
      const frozen = silent.reduce((sum, [a, b]) => sum + (b - a > 2 * PERIOD_MS ? b - a - PERIOD_MS : 0), 0);
      out.frozen += frozen;
      out.running += to - at - frozen;
    }
    at = to;
  };
  for (; i < st.length && st[i].t < endMs; i++) {
    segment(st[i].t);
    state = st[i].state;
  }
  segment(endMs);
  if (state !== 'on') out.accounted = false;
  const attributable = out.accounted ? out.blocked + out.running : out.wall;
  return { ...out, attributable };
}
