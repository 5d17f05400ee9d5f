import { Errno, errnoOf } from '../iomap/errno';
import type { IomapIter } from '../iomap/iter';
import type { IomapOps } from '../iomap/types';
import type { DaxEntry } from './entry';
import type { DaxMapping } from './mapping';
import type { DaxInode } from './types';
import { waitExclusive } from './wait-table';

/**
 * A body status meaning "an entry lock is held by someone else": nothing was advanced, and the body
 * may be run again for the same mapping once that entry is unlocked. It is positive, so it can
 * never be confused with a real status (0 or a negative errno).
 */
export const BLOCKED = 1;

/** Per-call state shared by the driver and a body. */
export interface BodyContext {
  /** True for the first run of the body on a mapping; the body clears it. */
  fresh: boolean;
  blockedMapping: DaxMapping | null;
  blockedKey: number;
  /** An error with more detail than the status (an offset), set by the body. */
  error: Error | null;
}

export function bodyContext(): BodyContext {
  return { fresh: true, blockedMapping: null, blockedKey: 0, error: null };
}

/** blockOn -- record the entry a body must wait for and return BLOCKED. */
export function blockOn(c: BodyContext, m: DaxMapping, e: DaxEntry): number {
  c.blockedMapping = m;
  c.blockedKey = e.index;
  return BLOCKED;
}

export type Body<C extends BodyContext> = (it: IomapIter<DaxInode>, c: C) => number;

/** Run a body; a thrown fs-style error (a device failure) becomes its status, so `end` still runs. */
function run<C extends BodyContext>(body: Body<C>, it: IomapIter<DaxInode>, c: C): number {
  try {
    return body(it, c);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 0) throw e;
    c.error = e as Error;
    return errno;
  }
}

/** The error to throw for a final negative result `r`: the most specific one recorded. */
export function finalError(r: number, it: IomapIter<DaxInode>, c: BodyContext): Error | null {
  if (c.error !== null && errnoOf(c.error) === r) return c.error;
  if (it.error !== null && errnoOf(it.error) === r) return it.error;
  return null;
}

/**
 * iterateSync -- run `body` over every mapping without ever sleeping: a body that would have to
 * wait for an entry lock ends the iteration with `-EAGAIN` (the NOWAIT answer).
 */
export function iterateSync<C extends BodyContext>(it: IomapIter<DaxInode>, ops: IomapOps<DaxInode>, body: Body<C>, c: C): number {
  let r;
  while ((r = it.next(ops)) > 0) {
    c.fresh = true;
    const st = run(body, it, c);
    it.status = st === BLOCKED ? -Errno.EAGAIN : st;
  }
  return r;
}

/**
 * iterateAsync -- run `body` over every mapping, sleeping as an exclusive waiter on any entry lock
 * it reports and running it again after the wakeup (bodies block before they change anything).
 */
export async function iterateAsync<C extends BodyContext>(
  it: IomapIter<DaxInode>,
  ops: IomapOps<DaxInode>,
  body: Body<C>,
  c: C,
): Promise<number> {
  let r;
  while ((r = it.next(ops)) > 0) {
    c.fresh = true;
    let st = run(body, it, c);
    while (st === BLOCKED) {
      await waitExclusive((c.blockedMapping as DaxMapping).id, c.blockedKey);
      st = run(body, it, c);
    }
    it.status = st;
  }
  return r;
}
