import { internalError } from '../errors';
import type { DaxDevice } from '../device/types';

/**
 * Page references other than page-table mappings (the kernel's folio refcount beyond mapcount):
 * bytes handed to asynchronous I/O, DMA, io_uring buffers. Counted per device page, because a
 * reflinked block may be pinned through one file and broken through another.
 */
class PinTable {
  readonly counts = new Map<number, number>();
  readonly idle = new Map<number, (() => void)[]>();

  pinned(pfn: number, pages: number): number {
    if (this.counts.size === 0) return -1;
    if (pages > this.counts.size) {
      for (const p of this.counts.keys()) if (p >= pfn && p < pfn + pages) return p;
      return -1;
    }
    for (let p = pfn; p < pfn + pages; p++) if (this.counts.has(p)) return p;
    return -1;
  }
}

const tables = new WeakMap<DaxDevice, PinTable>();

function table(device: DaxDevice): PinTable {
  let t = tables.get(device);
  if (t === undefined) {
    t = new PinTable();
    tables.set(device, t);
  }
  return t;
}

/** pinPages -- take one reference on device pages `[pfn, pfn+count)`. */
export function pinPages(device: DaxDevice, pfn: number, count: number): void {
  const t = table(device);
  for (let p = pfn; p < pfn + count; p++) t.counts.set(p, (t.counts.get(p) ?? 0) + 1);
}

/** unpinPages -- drop one reference; a page whose count reaches 0 wakes those waiting for it. */
export function unpinPages(device: DaxDevice, pfn: number, count: number): void {
  const t = table(device);
  for (let p = pfn; p < pfn + count; p++) {
    const n = t.counts.get(p);
    if (n === undefined) throw internalError(`dax: unpin of unpinned page ${p}`);
    if (n > 1) {
      t.counts.set(p, n - 1);
      continue;
    }
    t.counts.delete(p);
    const waiters = t.idle.get(p);
    if (waiters !== undefined) {
      t.idle.delete(p);
      for (const w of waiters) w();
    }
  }
}

/** firstPinned -- the first pinned page of `[pfn, pfn+count)`, or -1 when none is. */
export function firstPinned(device: DaxDevice, pfn: number, count: number): number {
  return tables.get(device)?.pinned(pfn, count) ?? -1;
}

/** pinCount -- references held on one device page. */
export function pinCount(device: DaxDevice, pfn: number): number {
  return tables.get(device)?.counts.get(pfn) ?? 0;
}

/** waitPageIdle -- resolves once device page `pfn` holds no pin (at once if it holds none). */
export function waitPageIdle(device: DaxDevice, pfn: number): Promise<void> {
  const t = table(device);
  if (!t.counts.has(pfn)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const list = t.idle.get(pfn);
    if (list === undefined) t.idle.set(pfn, [resolve]);
    else list.push(resolve);
  });
}
