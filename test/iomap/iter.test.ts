import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { daxError } from '../../lib/dax/errors';
import { IOMAP_NULL_ADDR, IomapOp, IomapType } from '../../lib/iomap/constants';
import { Errno } from '../../lib/iomap/errno';
import { IomapIter } from '../../lib/iomap/iter';
import type { Iomap, IomapBeginResult, IomapInode, IomapOps } from '../../lib/iomap/types';

interface Script {
  /** Per begin: how far before pos the mapping starts, how far past pos it reaches, whether begin fails. */
  readonly maps: { back: number; ahead: number; fail: boolean; endFails: boolean }[];
  /** Per body: advances to attempt, then what to do. */
  readonly bodies: { advances: number[]; action: 'ok' | 'error' | 'stale' }[];
}

const script = fc.record({
  maps: fc.array(
    fc.record({
      back: fc.nat(64),
      ahead: fc.integer({ min: 1, max: 300 }),
      fail: fc.boolean().map((b) => b && Math.random() < 0.3),
      endFails: fc.boolean().map((b) => b && Math.random() < 0.2),
    }),
    { minLength: 1, maxLength: 30 },
  ),
  bodies: fc.array(
    fc.record({
      advances: fc.array(fc.nat(400), { maxLength: 4 }),
      action: fc.constantFrom<'ok' | 'error' | 'stale'>('ok', 'ok', 'ok', 'ok', 'error', 'stale'),
    }),
    { minLength: 1, maxLength: 30 },
  ),
});

type Call = { call: 'begin'; pos: number; ok: boolean; map?: Iomap } | { call: 'end'; pos: number; length: number; written: number };

/** Run one scripted iteration; every call the "filesystem" sees is recorded. */
function run(s: Script, start: number, total: number) {
  const calls: Call[] = [];
  let m = 0;
  const ops: IomapOps = {
    begin(_inode, pos, _length, _flags): IomapBeginResult {
      const spec = s.maps[m++ % s.maps.length] as Script['maps'][number];
      if (spec.fail) {
        calls.push({ call: 'begin', pos, ok: false });
        throw daxError(-Errno.EIO, 'begin');
      }
      const offset = Math.max(0, pos - spec.back);
      const map: Iomap = { addr: offset * 2, offset, length: pos - offset + spec.ahead, type: IomapType.MAPPED, flags: 0, daxDev: null };
      calls.push({ call: 'begin', pos, ok: true, map });
      return { iomap: map };
    },
    end(_inode, pos, length, written) {
      calls.push({ call: 'end', pos, length, written });
      const spec = s.maps[(m - 1) % s.maps.length];
      if (spec?.endFails === true) throw daxError(-Errno.ENOSPC, 'end');
    },
  };
  const inode: IomapInode = { size: start + total };
  const it = new IomapIter(inode, start, total, IomapOp.WRITE);
  const events: { before: number; after: number; n: number; allowed: number; r: number; lenSum: number }[] = [];
  const statuses: number[] = [];
  let b = 0;
  let r: number;
  let rounds = 0;
  while ((r = it.next(ops)) > 0) {
    // Every round but the (at most 50) stale ones advances at least one byte: more rounds than that never ends.
    if (++rounds > total + 100) throw new Error('iteration did not terminate');
    const body = s.bodies[b++ % s.bodies.length] as Script['bodies'][number];
    let status = 0;
    for (const n of body.advances) {
      const allowed = it.length();
      const before = it.pos;
      const rr = it.advance(n);
      events.push({ before, after: it.pos, n, allowed, r: rr, lenSum: it.pos + it.len });
      if (rr < 0) {
        status = rr;
        break;
      }
    }
    if (status === 0 && body.action === 'error') status = -Errno.ENOSPC;
    // A filesystem that kept answering stale mappings would be remapped forever; the script stops.
    if (status === 0 && body.action === 'stale' && rounds < 50) it.markStale();
    it.status = status;
    statuses.push(status);
  }
  return { calls, events, statuses, r, it };
}

describe('iomap_iter (docs/semantics.md §2.3)', { timeout: 60_000 }, () => {
  it('invariant 28: pos only increases, pos+len is constant, advances are bounded, over-advance is EIO and changes nothing', () => {
    fc.assert(
      fc.property(script, fc.nat(10_000), fc.integer({ min: 1, max: 2000 }), (s, start, total) => {
        const { events } = run(s, start, total);
        for (const e of events) {
          expect(e.lenSum).toBe(start + total);
          expect(e.after).toBeGreaterThanOrEqual(e.before);
          if (e.n > e.allowed) {
            expect(e.r).toBe(-Errno.EIO);
            expect(e.after).toBe(e.before);
          } else {
            expect(e.r).toBe(0);
            expect(e.after - e.before).toBe(e.n);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('invariant 29: every successful begin gets exactly one end, at its start position, told the bytes advanced in it', () => {
    fc.assert(
      fc.property(script, fc.nat(10_000), fc.integer({ min: 1, max: 2000 }), (s, start, total) => {
        const { calls, events } = run(s, start, total);
        const advancedFrom = (pos: number): number => {
          // Sum of successful advances made while the mapping begun at `pos` was current.
          return events.filter((e) => e.r === 0 && e.before >= pos).reduce((a, e) => a + e.n, 0);
        };
        for (let i = 0; i < calls.length; i++) {
          const c = calls[i] as Call;
          if (c.call !== 'begin') continue;
          const next = calls[i + 1];
          if (!c.ok) {
            expect(next?.call).not.toBe('end');
            continue;
          }
          expect(next?.call).toBe('end');
          if (next?.call === 'end') {
            expect(next.pos).toBe(c.pos);
            const following = calls.slice(i + 2).find((x) => x.call === 'begin');
            const advanced = (following?.pos ?? c.pos + advancedFrom(c.pos)) - c.pos;
            expect(next.written).toBe(advanced);
          }
        }
        const ends = calls.filter((c) => c.call === 'end').length;
        const begins = calls.filter((c) => c.call === 'begin' && c.ok).length;
        expect(ends).toBe(begins);
      }),
      { numRuns: 300 },
    );
  });

  it('invariant 30: a mapping that does not contain pos is rejected with EIO, and still ended', () => {
    const calls: string[] = [];
    const bad: IomapOps = {
      begin: (_i, pos) => ({ iomap: { addr: IOMAP_NULL_ADDR, offset: pos + 1, length: 10, type: IomapType.HOLE, flags: 0, daxDev: null } }),
      end: () => {
        calls.push('end');
      },
    };
    const it1 = new IomapIter({ size: 100 }, 5, 10, 0);
    expect(it1.next(bad)).toBe(-Errno.EIO);
    expect(calls).toEqual(['end']);
    const empty: IomapOps = { begin: (_i, pos) => ({ iomap: { addr: 0, offset: pos, length: 0, type: IomapType.MAPPED, flags: 0, daxDev: null } }) };
    expect(new IomapIter({ size: 100 }, 5, 10, 0).next(empty)).toBe(-Errno.EIO);
    fc.assert(
      fc.property(script, fc.nat(10_000), fc.integer({ min: 1, max: 2000 }), (s, start, total) => {
        for (const c of run(s, start, total).calls) {
          if (c.call === 'begin' && c.map) {
            expect(c.map.length).toBeGreaterThan(0);
            expect(c.map.offset).toBeLessThanOrEqual(c.pos);
            expect(c.map.offset + c.map.length).toBeGreaterThan(c.pos);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('invariant 31: iteration stops with 0 when len reaches 0 or a non-stale mapping made no progress, with the status when it is negative', () => {
    fc.assert(
      fc.property(script, fc.nat(10_000), fc.integer({ min: 1, max: 2000 }), (s, start, total) => {
        const { calls, statuses, r, it: iter } = run(s, start, total);
        const lastBegin = [...calls].reverse().find((c) => c.call === 'begin');
        if (lastBegin !== undefined && !lastBegin.ok) {
          expect(r).toBe(-Errno.EIO);
          return;
        }
        const last = statuses[statuses.length - 1];
        if (last !== undefined && last < 0) {
          expect(r).toBe(last);
          return;
        }
        if (r < 0) {
          // Only an end() failure with nothing advanced may end it otherwise.
          expect(r).toBe(-Errno.ENOSPC);
          return;
        }
        expect(r).toBe(0);
        const lastEnd = [...calls].reverse().find((c) => c.call === 'end');
        if (iter.len !== 0) expect(lastEnd?.call === 'end' && lastEnd.written === 0).toBe(true);
        // Calling again after the end is harmless and gives the same answer.
        expect(iter.next({ begin: () => { throw new Error('begin after the end'); } })).toBe(r);
      }),
      { numRuns: 300 },
    );
  });

  it('invariant 31: a stale mapping with no progress is mapped again at the same position', () => {
    let begins = 0;
    const ops: IomapOps = {
      begin: (_i, pos) => {
        begins++;
        return { iomap: { addr: 0, offset: pos, length: 8, type: IomapType.MAPPED, flags: 0, daxDev: null } };
      },
    };
    const iter = new IomapIter({ size: 100 }, 0, 16, 0);
    expect(iter.next(ops)).toBe(1);
    iter.markStale();
    expect(iter.next(ops)).toBe(1);
    expect(iter.pos).toBe(0);
    expect(iter.next(ops)).toBe(0);
    expect(begins).toBe(2);
  });
});
