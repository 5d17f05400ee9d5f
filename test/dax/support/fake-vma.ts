import type { FaultVma, PageTableInsert } from '../../../lib/dax/fault-types';
import type { DaxMapping, PageTableHooks } from '../../../lib/dax/mapping';

/** One page-table slot of a FakeVma. */
export interface FakePte {
  readonly kind: 'zero' | 'device' | 'cow';
  readonly pfn: number;
  writable: boolean;
  readonly huge: boolean;
  readonly data?: Uint8Array;
}

export interface FakeVmaShape {
  readonly shared: boolean;
  readonly mapSync?: boolean;
  readonly writable?: boolean;
  readonly pgoff?: number;
  readonly pages: number;
  readonly colour?: number;
}

/**
 * FakeVma -- page tables as a map from file page to what is mapped there, for testing the fault
 * path without real memory. It also serves as the mapping's page-table hooks (one VMA per file).
 */
export class FakeVma implements FaultVma, PageTableHooks {
  readonly shared: boolean;
  readonly mapSync: boolean;
  readonly writable: boolean;
  readonly pgoff: number;
  readonly pages: number;
  readonly colour: number;
  readonly ptes = new Map<number, FakePte>();
  readonly inserts: { pgoff: number; huge: boolean; what: PageTableInsert }[] = [];

  constructor(shape: FakeVmaShape, mapping?: DaxMapping) {
    this.shared = shape.shared;
    this.mapSync = shape.mapSync ?? false;
    this.writable = shape.writable ?? true;
    this.pgoff = shape.pgoff ?? 0;
    this.pages = shape.pages;
    this.colour = shape.colour ?? 0;
    if (mapping) mapping.pageTables = this;
  }

  hugeAt(pgoff: number): boolean {
    return this.ptes.get(pgoff)?.huge === true;
  }

  ptesAt(pgoff: number): boolean {
    const v = this.colour + pgoff - this.pgoff;
    const base = v - (v % 512) - this.colour + this.pgoff;
    for (let p = base; p < base + 512; p++) {
      const e = this.ptes.get(p);
      if (e !== undefined && !e.huge) return true;
    }
    return false;
  }

  insertPte(pgoff: number, what: PageTableInsert): void {
    this.inserts.push({ pgoff, huge: false, what });
    const old = this.ptes.get(pgoff);
    if (old?.kind === 'device' && !what.zero && old.pfn === what.pfn) {
      old.writable ||= what.write;
      return;
    }
    this.ptes.set(pgoff, { kind: what.zero ? 'zero' : 'device', pfn: what.zero ? -1 : what.pfn, writable: what.write, huge: false });
  }

  insertPmd(pgoff: number, what: PageTableInsert): void {
    this.inserts.push({ pgoff, huge: true, what });
    for (let i = 0; i < 512; i++) {
      this.ptes.set(pgoff + i, { kind: what.zero ? 'zero' : 'device', pfn: what.zero ? -1 : what.pfn + i, writable: what.write, huge: true });
    }
  }

  installCow(pgoff: number, data: Uint8Array): void {
    this.ptes.set(pgoff, { kind: 'cow', pfn: -1, writable: true, huge: false, data: data.slice() });
  }

  /** As for a DAX VMA in the kernel, splitting a huge mapping zaps all of it; its pages fault again. */
  splitHuge(pgoff: number): void {
    if (!this.hugeAt(pgoff)) return;
    const base = pgoff - ((this.colour + pgoff - this.pgoff) % 512);
    for (let p = base; p < base + 512; p++) this.ptes.delete(p);
  }

  unmapPages(first: number, count: number, evenCows: boolean): void {
    for (const [p, e] of [...this.ptes]) {
      if (p < first || p >= first + count || (!evenCows && e.kind === 'cow')) continue;
      if (e.huge) this.splitHuge(p);
      else this.ptes.delete(p);
    }
  }

  cleanPages(first: number, count: number, pfn: number): void {
    for (let p = first; p < first + count; p++) {
      const e = this.ptes.get(p);
      if (e?.kind === 'device' && e.pfn === pfn + (p - first)) e.writable = false;
    }
  }
}
