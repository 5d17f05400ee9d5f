import { describe, expect, it } from 'vitest';
import { Device } from '../../lib/index';
import { MiB, scratchPerTest } from '../support/scratch';

// Every public method in every state: open, closed, and open with a view whose device was closed
// (the "after detach" state, reached through another device on the same file).
type Call = (d: Device) => unknown;

const METHODS: Record<string, Call> = {
  directAccess: (d) => d.directAccess(0, 1),
  flush: (d) => d.flush(0, 64),
  drain: (d) => d.drain(),
  persist: (d) => d.persist(0, 64),
  persistRanges: (d) => d.persistRanges([{ offset: 0, length: 64 }]),
  copy: (d) => d.copy(0, new Uint8Array(8)),
  move: (d) => d.move(64, 0, 8),
  fill: (d) => d.fill(0, 1, 8),
  copySafe: (d) => d.copySafe(0, new Uint8Array(8)),
  readSafe: (d) => d.readSafe(0, 8),
  badblocks: (d) => d.badblocks(),
  clearBadblocks: (d) => d.clearBadblocks(0, 4096),
  deepFlush: (d) => d.deepFlush(0, 64),
  stats: (d) => d.stats(),
  close: (d) => d.close(),
  dispose: (d) => d[Symbol.dispose](),
};

describe('integrity matrix: every method × open / closed / after detach', () => {
  const s = scratchPerTest('/dev/shm');
  const open = (): Device => Device.open(s.file('dev'), { create: true, size: 2 * MiB });

  it.each(Object.entries(METHODS))('%s works on an open device', (_name, call) => {
    const d = open();
    expect(() => call(d)).not.toThrow();
    d.close();
  });

  it.each(Object.entries(METHODS))('%s on a closed device fails cleanly (or is a no-op for close/stats)', (name, call) => {
    const d = open();
    d.close();
    if (name === 'close' || name === 'dispose') {
      expect(() => call(d)).not.toThrow();
      expect(d.closed).toBe(true);
    } else if (name === 'stats') {
      expect(call(d)).toMatchObject({ flushedLines: expect.any(Number) });
    } else if (name === 'directAccess') {
      expect(() => call(d)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    } else {
      expect(() => call(d)).toThrow(expect.objectContaining({ code: 'ERR_PMEMDAX_CLOSED', path: s.file('dev') }));
    }
  });

  it.each(Object.entries(METHODS))('%s works on a second device while views of a closed one are detached', (_name, call) => {
    const first = open();
    const stale = first.directAccess(0, 1).view;
    first.close();
    expect(stale.byteLength).toBe(0);
    stale[0] = 1; // a store to a detached view goes nowhere; it must not reach the file
    const second = open();
    expect(second.readSafe(0, 1)[0]).toBe(0);
    expect(() => call(second)).not.toThrow();
    second.close();
  });
});
