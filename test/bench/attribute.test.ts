import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain JavaScript module of the benchmarks, without types
import { attributePiece } from '../../bench/service/attribute.mjs';

type Split = { wall: number; waiting: number; blocked: number; running: number; frozen: number; accounted: boolean; attributable: number };
const split = attributePiece as (trace: unknown, start: number, end: number) => Split;

/** Samples every 0.25 ms over [from, to), except inside the `gaps`. */
function samples(from: number, to: number, gaps: [number, number][] = []): Float64Array {
  const out: number[] = [];
  for (let t = from; t < to; t += 0.25) if (!gaps.some(([a, b]) => t > a && t < b)) out.push(t);
  return Float64Array.from(out);
}

describe('bench:service --attribute: a piece split from a trace (bench/service/attribute.mjs)', () => {
  it('a thread on the CPU, sampled throughout, is running', () => {
    const s = samples(0, 20);
    const r = split({ states: [{ t: 0, state: 'on' }], own: s, cpus: [s, samples(0.1, 20)], lost: false }, 5, 7);
    expect(r).toMatchObject({ waiting: 0, blocked: 0, frozen: 0, accounted: true });
    expect(r.running).toBeCloseTo(2);
    expect(r.attributable).toBeCloseTo(2);
  });

  it('asleep in the kernel is blocked, woken and not yet run is waiting', () => {
    const states = [{ t: 0, state: 'on' }, { t: 5.5, state: 'D' }, { t: 6.5, state: 'R' }, { t: 6.8, state: 'on' }];
    const r = split({ states, own: samples(0, 20, [[5.5, 6.8]]), cpus: [samples(0, 20)], lost: false }, 5, 7);
    expect(r.blocked).toBeCloseTo(1);
    expect(r.waiting).toBeCloseTo(0.3);
    expect(r.running).toBeCloseTo(0.7);
    expect(r.attributable).toBeCloseTo(1.7);
  });

  it('a silence is frozen only while every CPU is silent; one CPU silent alone is running', () => {
    const own = samples(0, 20, [[5.2, 6.8]]);
    const together = split({ states: [{ t: 0, state: 'on' }], own, cpus: [own, samples(0.1, 20, [[5.1, 6.9]])], lost: false }, 5, 7);
    expect(together.frozen).toBeGreaterThan(1);
    expect(together.attributable).toBeLessThan(1);
    const alone = split({ states: [{ t: 0, state: 'on' }], own, cpus: [own, samples(0.1, 20)], lost: false }, 5, 7);
    expect(alone.frozen).toBe(0);
    expect(alone.attributable).toBeCloseTo(2);
  });

  it('a piece that starts or ends with the thread off the CPU by the trace (a lost switch) counts whole', () => {
    // The switch back in is missing: the trace says the thread is still asleep when the piece ends.
    const r = split({ states: [{ t: 0, state: 'on' }, { t: 5.5, state: 'S' }], own: samples(0, 5.5), cpus: [samples(0, 20)], lost: false }, 5, 7);
    expect(r.accounted).toBe(false);
    expect(r.attributable).toBeCloseTo(2);
  });
});
