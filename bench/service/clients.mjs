// clients.mjs -- N concurrent async clients in one process, and what they cost the event loop: latency per
// operation, throughput, event-loop delay (monitorEventLoopDelay), event-loop utilisation, and how long the
// loop's thread waited for a CPU.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { prng } from '../common/measure.mjs';
import { summarize } from '../common/stats.mjs';

/**
 * Runs `clients` loops of `await op(client, random)` for `warmupMs` unrecorded, then for `durationMs`
 * recorded. Each latency runs from the call to the settled promise; the loop's delay is sampled every
 * millisecond over the recorded phase only. `onMeasure()` is called as the recorded phase starts (the
 * contender's own counters start their window there too).
 */
export async function runClients(op, { clients, warmupMs, durationMs, maxOps, seed }, onMeasure = () => {}) {
  const next = prng(seed);
  const phase = async (ms, samples) => {
    let n = 0;
    const stop = performance.now() + ms;
    const loop = async (client) => {
      while (performance.now() < stop && (samples === null || n < samples.length)) {
        const start = performance.now();
        await op(client, next());
        if (samples !== null && n < samples.length) samples[n++] = (performance.now() - start) * 1e6;
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
    return n;
  };
  await phase(warmupMs, null);

  const samples = new Float64Array(maxOps);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  // The histogram records the gap between two turns of its timer, so it must have turned once before the
  // phase (reset() would forget that turn, and with it a phase that never yields). The one or two samples
  // of an idle loop this adds do not move a p99 that matters.
  delay.enable();
  await new Promise((resolve) => setTimeout(resolve, 2));
  const elu0 = performance.eventLoopUtilization();
  const wait0 = cpuWaitMs();
  onMeasure();
  const t0 = performance.now();
  const n = await phase(durationMs, samples);
  const wallMs = performance.now() - t0;
  const wallNs = wallMs * 1e6;
  const cpuWait = (cpuWaitMs() - wait0) / wallMs;
  // A phase that never yielded to the loop has not been sampled yet: one timer turn records how long it held it.
  await new Promise((resolve) => setTimeout(resolve, 2));
  delay.disable();
  const elu = performance.eventLoopUtilization(elu0).utilization;
  return {
    ...summarize(samples.subarray(0, n), wallNs),
    loopDelayP99: delay.percentile(99),
    loopDelayMax: delay.max,
    elu,
    cpuWait: Number.isNaN(cpuWait) ? null : cpuWait,
  };
}

/**
 * The time this thread has spent ready to run with no CPU to run on (other threads ran: the process's
 * own, the kernel's), in ms: Linux schedstat; NaN elsewhere.
 */
function cpuWaitMs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[1]) / 1e6;
  } catch {
    return NaN;
  }
}
