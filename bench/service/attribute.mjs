// attribute.mjs -- what the JavaScript thread was doing during the longest pieces of the pool's promise
// methods, from a system-wide trace of the run: every context switch of every CPU, and a CPU-clock sample
// and wake-up of every CPU, and a CPU-clock sample of whatever runs, HZ times a second per CPU (perf, `--attribute`). A piece's busy time (wall time less
// the time its thread waited for a CPU, PMEMDAX_HOLD_CLOCK=busy) splits into:
//   blocked   -- the thread slept in the kernel (a system call, a page fault, a lock): the pool's doing
//   running   -- on the CPU, sampled as such: the pool's doing
//   gc        -- blocked or running inside a garbage collection (the process's allocation, not the call's)
//   frozen    -- "on the CPU" by the guest kernel's account, yet the CPU took no sample for longer than two
//                sample periods: the virtual CPU itself was not running (its host ran something else).
//                Seen on this VM as both vCPUs going silent together for 1-7 ms.
// attributable = blocked + running: the part of the piece that the pool's code and the system calls it made
// account for.
import { spawnSync } from 'node:child_process';

/** CPU-clock samples per second per CPU: a 250 µs period, so a silence over 500 µs is a frozen vCPU. */
export const HZ = 4000;
const PERIOD_MS = 1000 / HZ;

/** The `perf record` arguments that trace a command into `out`; the monotonic clock, as `process.hrtime`. */
export function perfRecordArgs(out) {
  // Every switch and wake-up (-c 1: a frequency would sample them too, and skip some); the clock at HZ.
  return ['record', '-q', '-a', '-k', 'mono', '-c', '1', '-e', 'sched:sched_switch', '-e', 'sched:sched_wakeup', '-e', `cpu-clock/freq=${HZ}/`, '-o', out, '--'];
}

/** Whether this machine can trace every CPU (perf installed, and allowed: root or perf_event_paranoid <= 0). */
export function canTrace() {
  const r = spawnSync('perf', ['record', '-q', '-a', '-e', 'sched:sched_switch', '-o', '/dev/null', '--', 'true'], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * The trace of thread `tid`: its state changes (time in ms and the state it entered: `on` the CPU, `R`
 * runnable and off it, or the sleeping state it left the CPU in) and its CPU-clock sample times, sorted,
 * on the monotonic clock in ms.
 */
export function readTrace(file, tid) {
  const r = spawnSync('perf', ['script', '-i', file, '-F', 'tid,time,event,trace'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`perf script failed: ${r.stderr}`);
  const id = String(tid);
  const switches = [];
  const samples = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+([\d.]+):\s+(\S+):/.exec(line);
    if (m === null) continue;
    const t = Number(m[2]) * 1000;
    if (m[3].startsWith('cpu-clock')) {
      if (m[1] === id) samples.push(t);
      continue;
    }
    if (m[3] === 'sched:sched_wakeup') {
      // Woken: runnable, waiting for a CPU from here until it is switched in.
      // (A wake-up of a thread still on the CPU, or already runnable, changes nothing.)
      const last = switches.length > 0 ? switches[switches.length - 1].state : 'on';
      if (/ pid=(\d+) /.exec(line)?.[1] === id && last !== 'on' && last !== 'R') switches.push({ t, state: 'R' });
      continue;
    }
    const sw = /prev_pid=(\d+) .*prev_state=(\S+) ==> .*next_pid=(\d+)/.exec(line);
    if (sw === null) continue;
    // A preempted thread leaves in state R (or R+): runnable.
    if (sw[1] === id) switches.push({ t, state: sw[2].startsWith('R') ? 'R' : sw[2] });
    else if (sw[3] === id) switches.push({ t, state: 'on' });
  }
  return { switches, samples: Float64Array.from(samples) };
}

/** Index of the first element of sorted `xs` that is >= `x`. */
function lowerBound(xs, x) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How much of [a, b) the sorted, disjoint intervals `spans` ([start, end] pairs) cover. */
function overlap(spans, a, b) {
  let sum = 0;
  for (const [s, e] of spans) sum += Math.max(0, Math.min(b, e) - Math.max(a, s));
  return sum;
}

/**
 * Splits the piece [startMs, endMs) (monotonic ms) of thread `trace` into waiting, blocked, running,
 * frozen and gc time; `gcSpans` are the process's garbage collections as [start, end] pairs on the same clock.
 */
export function attributePiece(trace, startMs, endMs, gcSpans) {
  const out = { waiting: 0, blocked: 0, running: 0, frozen: 0, gc: 0 };
  // The thread's state at the start: the last switch before it says.
  const sw = trace.switches;
  let i = lowerBound(sw.map((s) => s.t), startMs);
  let state = i > 0 ? sw[i - 1].state : 'on';
  let at = startMs;
  const segment = (to) => {
    if (to <= at) return;
    if (state === 'R') out.waiting += to - at;
    else if (state !== 'on') {
      const g = overlap(gcSpans, at, to);
      out.gc += g;
      out.blocked += to - at - g;
    } else onCpu(at, to);
    at = to;
  };
  const onCpu = (a, b) => {
    // Between consecutive samples (and the segment's ends) a silence of more than two periods is a frozen vCPU.
    const s = trace.samples;
    let prev = a;
    for (let k = lowerBound(s, a); k <= s.length; k++) {
      const t = k < s.length && s[k] < b ? s[k] : b;
      const gap = t - prev;
      if (gap > 2 * PERIOD_MS) out.frozen += gap - PERIOD_MS;
      const ran = gap > 2 * PERIOD_MS ? PERIOD_MS : gap;
      const g = Math.min(ran, overlap(gcSpans, t - ran, t));
      out.gc += g;
      out.running += ran - g;
      prev = t;
      if (t === b) break;
    }
  };
  for (; i < sw.length && sw[i].t < endMs; i++) {
    segment(sw[i].t);
    state = sw[i].state;
  }
  segment(endMs);
  return { ...out, attributable: out.blocked + out.running };
}
