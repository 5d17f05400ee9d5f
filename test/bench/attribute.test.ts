import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain JavaScript module of the benchmarks, without types
import { attributePiece, statesOf } from '../../bench/service/attribute.mjs';

type Split = { wall: number; waiting: number; blocked: number; running: number; frozen: number; accounted: boolean; attributable: number };
type State = { t: number; state: string; bad: boolean };
const split = attributePiece as (trace: unknown, start: number, end: number) => Split;
const states = statesOf as (events: { t: number; state: string; wake: boolean }[]) => State[];

/** Samples every `period` ms over [from, to), except inside the `gaps`. */
function samples(from: number, to: number, gaps: [number, number][] = [], period = 0.25): Float64Array {
  const out: number[] = [];
  for (let t = from; t < to; t += period) if (!gaps.some(([a, b]) => t > a && t < b)) out.push(t);
  return Float64Array.from(out);
}

/** A trace of the thread and one other CPU, sampled at `period` unless told otherwise. */
function trace(st: State[], own: Float64Array, other: Float64Array, period = 0.25): unknown {
  return { states: st, own, cpus: [own, other], periods: [period, period], lost: false };
}

const on: State[] = [{ t: 0, state: 'on', bad: false }];

describe('bench:service --attribute: a piece split from a trace (bench/service/attribute.mjs)', () => {
  it('a thread on the CPU, sampled throughout, is running', () => {
    const r = split(trace(on, samples(0, 20), samples(0.1, 20)), 5, 7);
    expect(r).toMatchObject({ waiting: 0, blocked: 0, frozen: 0, accounted: true });
    expect(r.running).toBeCloseTo(2);
    expect(r.attributable).toBeCloseTo(2);
  });

  it('asleep in the kernel is blocked, woken and not yet run is waiting', () => {
    const st = states([{ t: 0, state: 'on', wake: false }, { t: 5.5, state: 'D', wake: false }, { t: 6.5, state: 'R', wake: true }, { t: 6.8, state: 'on', wake: false }]);
    const r = split(trace(st, samples(0, 20, [[5.5, 6.8]]), samples(0, 20)), 5, 7);
    expect(r.accounted).toBe(true);
    expect(r.blocked).toBeCloseTo(1);
    expect(r.waiting).toBeCloseTo(0.3);
    expect(r.running).toBeCloseTo(0.7);
    expect(r.attributable).toBeCloseTo(1.7);
  });

  it('a silence is frozen only while every CPU is silent; one CPU silent alone is running', () => {
    const own = samples(0, 20, [[5.2, 6.8]]);
    const together = split(trace(on, own, samples(0.1, 20, [[5.1, 6.9]])), 5, 7);
    expect(together.frozen).toBeGreaterThan(1);
    expect(together.attributable).toBeLessThan(1);
    const alone = split(trace(on, own, samples(0.1, 20)), 5, 7);
    expect(alone.frozen).toBe(0);
    expect(alone.attributable).toBeCloseTo(2);
  });

  it('silence is measured against the period the CPUs kept: a lowered sampling rate is not a freeze', () => {
    const r = split(trace(on, samples(0, 20, [], 0.75), samples(0.1, 20, [], 0.75), 0.75), 5, 8);
    expect(r.frozen).toBe(0);
    expect(r.attributable).toBeCloseTo(3);
  });

  it('counts a piece whole when the trace contradicts itself: off the CPU at an end, a switch out of order, a sample while off, a CPU without samples', () => {
    // The switch back in is missing: still asleep by the trace when the piece ends.
    const asleep = states([{ t: 0, state: 'on', wake: false }, { t: 5.5, state: 'S', wake: false }]);
    expect(split(trace(asleep, samples(0, 5.5), samples(0, 20)), 5, 7)).toMatchObject({ accounted: false, attributable: 2 });
    // Out, then out again: the switch in between went missing.
    const twice = states([{ t: 0, state: 'on', wake: false }, { t: 5.2, state: 'S', wake: false }, { t: 5.6, state: 'D', wake: false }, { t: 6, state: 'on', wake: false }]);
    expect(twice.map((s) => s.bad)).toEqual([false, false, true, false]);
    expect(split(trace(twice, samples(0, 20, [[5.2, 6]]), samples(0, 20)), 5, 7).accounted).toBe(false);
    // Sampled on the CPU while the trace has it asleep.
    const sleeping = states([{ t: 0, state: 'on', wake: false }, { t: 5.5, state: 'S', wake: false }, { t: 6.5, state: 'on', wake: false }]);
    expect(split(trace(sleeping, samples(0, 20), samples(0, 20)), 5, 7).accounted).toBe(false);
    // The other CPU took no sample near the piece: its silence says nothing.
    expect(split(trace(on, samples(0, 20), samples(0, 1)), 5, 7).accounted).toBe(false);
  });

  it('a wake-up of a thread on the CPU, or already runnable, changes nothing', () => {
    const st = states([{ t: 0, state: 'on', wake: false }, { t: 1, state: 'R', wake: true }, { t: 2, state: 'R', wake: false }, { t: 2.5, state: 'R', wake: true }]);
    expect(st).toEqual([{ t: 0, state: 'on', bad: false }, { t: 2, state: 'R', bad: false }]);
  });
});
