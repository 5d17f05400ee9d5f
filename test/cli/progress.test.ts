import { describe, expect, it } from 'vitest';
import { progressBar, renderBar } from '../../lib/cli/progress';

function fakeTerminal(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (text: string) => writes.push(text) > 0 } };
}

describe('progressBar', () => {
  it('draws nothing for an operation over within a quarter of a second', () => {
    const t = fakeTerminal(true);
    let clock = 1000;
    const p = progressBar('x', { stream: t.stream, now: () => clock });
    for (let i = 0; i <= 100; i++, clock += 2) p.report?.(i, 100);
    p.end();
    expect(t.writes).toEqual([]);
  });

  it('redraws at most ten times a second however often it is called, and erases itself at the end', () => {
    const t = fakeTerminal(true);
    let clock = 0;
    const p = progressBar('checking', { stream: t.stream, now: () => clock });
    // 3 s of calls every millisecond: 3000 calls.
    for (let i = 0; i < 3000; i++, clock += 1) p.report?.(i, 3000);
    const draws = t.writes.filter((w) => w.includes('checking'));
    expect(draws.length).toBeGreaterThan(20);
    expect(draws.length).toBeLessThanOrEqual(30);
    p.end();
    expect(t.writes.at(-1)).toBe('\r\x1b[K');
  });

  it('gives no callback when the stream is not a terminal or --quiet was given', () => {
    expect(progressBar('x', { stream: fakeTerminal(false).stream }).report).toBeUndefined();
    expect(progressBar('x', { stream: fakeTerminal(true).stream, quiet: true }).report).toBeUndefined();
  });
});

describe('renderBar', () => {
  it('fills in proportion, clamps past the total, and treats an empty total as done', () => {
    expect(renderBar('x', 0, 10)).toBe(`x [${'.'.repeat(30)}]   0%`);
    expect(renderBar('x', 5, 10)).toBe(`x [${'#'.repeat(15)}${'.'.repeat(15)}]  50%`);
    expect(renderBar('x', 20, 10)).toBe(`x [${'#'.repeat(30)}] 100%`);
    expect(renderBar('x', 0, 0)).toBe(`x [${'#'.repeat(30)}] 100%`);
  });
});
