import type { Device } from '../device/device';
import type { FaultVma, PageTableInsert } from '../dax/fault-types';
import { PmemdaxError } from '../errors';
import { PMD_PAGES } from '../iomap/constants';
import { AddressSpace, VM_PAGE, type PageAccess } from './address-space';
import { forRuns, isDevice, PageState } from './page-state';
import { RegionPin } from './pin';

const PMD_BYTES = VM_PAGE * PMD_PAGES;

/** The file side a region calls back into (implemented by DaxFile). */
export interface RegionOwner {
  readonly device: Device;
  /** Why 4 KiB mappings are impossible on this device (device-dax with a larger alignment), or null. */
  readonly pteUnsupported: string | null;
  handleFault(region: DaxRegion, pgoff: number, write: boolean): Promise<void>;
  harvestRegion(region: DaxRegion): void;
  fsyncRange(start: number, end: number, datasync: boolean): Promise<void>;
  detach(region: DaxRegion): void;
  pinPages(pfns: readonly number[]): RegionPin;
}

export interface RegionShape {
  /** File offset of the first byte (page-aligned). */
  readonly offset: number;
  readonly length: number;
  readonly shared: boolean;
  readonly sync: boolean;
  readonly write: boolean;
  /** Try 2 MiB mappings first (PMD faults); false maps everything with 4 KiB pages. */
  readonly huge: boolean;
}

/** A byte range of a region; the defaults cover all of it. */
export interface RegionRange {
  readonly offset?: number;
  readonly length?: number;
}

/**
 * DaxRegion -- the userspace mmap of a DAX file range: one Uint8Array over reserved address space,
 * whose pages the fault path fills with device pages, zero pages or private copies. It is the VMA
 * and its page tables at once. Pages are accessible only once faulted in (`populate`, `fault`);
 * stores to pages that writeback write-protected are caught natively and re-dirty their entry.
 */
export class DaxRegion implements FaultVma, Disposable {
  readonly offset: number;
  readonly length: number;
  readonly shared: boolean;
  /** MAP_SYNC. */
  readonly mapSync: boolean;
  readonly writable: boolean;
  readonly huge: boolean;
  /** File page of `bytes[0]`. */
  readonly pgoff: number;
  readonly pages: number;
  /** The reservation is 2 MiB-aligned, so the first page sits at colour 0 of the 2 MiB grid. */
  readonly colour = 0;
  readonly bytes: Uint8Array;
  readonly #owner: RegionOwner;
  readonly #as: AddressSpace;
  readonly #state: Uint8Array;
  readonly #huge: Uint8Array;
  readonly #pfn: Float64Array;
  #unmapped = false;
  /** populate calls in progress; while any is, 4 KiB device inserts are gathered into `#pending`. */
  #populating = 0;
  #pending: { page: number; pfn: number; count: number; state: PageState } | null = null;

  /** Made by `DaxFile.mmap`. */
  constructor(owner: RegionOwner, shape: RegionShape) {
    this.#owner = owner;
    this.offset = shape.offset;
    this.length = shape.length;
    this.shared = shape.shared;
    this.mapSync = shape.sync;
    this.writable = shape.write;
    this.huge = shape.huge;
    this.pgoff = shape.offset / VM_PAGE;
    this.pages = Math.ceil(shape.length / VM_PAGE);
    this.#as = new AddressSpace(this.pages * VM_PAGE, PMD_BYTES);
    this.bytes = this.#as.bytes.subarray(0, shape.length);
    this.#state = new Uint8Array(this.pages);
    this.#huge = new Uint8Array(this.pages);
    this.#pfn = new Float64Array(this.pages).fill(-1);
  }

  get unmapped(): boolean {
    return this.#unmapped;
  }

  /** What page `page` (region-relative) shows now. */
  pageState(page: number): PageState {
    return (this.#state[page] ?? PageState.NONE) as PageState;
  }

  /** Whether file page `pgoff` is mapped for a load, or for a store when `write`. */
  mappedFor(pgoff: number, write: boolean): boolean {
    const s = this.#state[pgoff - this.pgoff] ?? PageState.NONE;
    return write ? s === PageState.WRITE || s === PageState.COW : s !== PageState.NONE;
  }

  /** Whether region page `page` is part of a 2 MiB mapping. */
  isHuge(page: number): boolean {
    return this.#huge[page] === 1;
  }

  /**
   * populate -- fault in every page of `range` that is not yet accessible for `mode`: for 'read'
   * any mapping will do; for 'write' the page must be writable (a shared region allocates holes
   * and dirties the entry; a private one copies on write). MAP_POPULATE / madvise(WILLNEED).
   */
  async populate(range: RegionRange = {}, mode: 'read' | 'write' = 'read'): Promise<void> {
    this.#checkOpen();
    const [first, end] = this.#pageRange(range);
    if (mode === 'write' && !this.writable) throw this.#readonly();
    this.#owner.harvestRegion(this);
    const write = mode === 'write';
    this.#populating++;
    try {
      for (let p = first; p < end; p++) {
        if (!this.mappedFor(this.pgoff + p, write)) await this.#owner.handleFault(this, this.pgoff + p, write);
      }
    } finally {
      // The pages of a populate become accessible when it resolves.
      if (--this.#populating === 0 && !this.#unmapped) this.#flushPending();
    }
  }

  /**
   * fault -- the page fault a load (or, with `write`, a store) at file page `pgoff` would take; none
   * when the page already allows the access.
   */
  async fault(pgoff: number, opts: { write?: boolean } = {}): Promise<void> {
    this.#checkOpen();
    if (!Number.isInteger(pgoff) || pgoff < this.pgoff || pgoff >= this.pgoff + this.pages) {
      throw new RangeError(`file page ${pgoff} is outside the region [${this.pgoff}, ${this.pgoff + this.pages})`);
    }
    if (opts.write === true && !this.writable) throw this.#readonly();
    await this.#owner.handleFault(this, pgoff, opts.write === true);
  }

  /** sync -- msync(MS_SYNC): write back the dirty pages of `range` and make its metadata durable. */
  async sync(range: RegionRange = {}): Promise<void> {
    this.#checkOpen();
    const [first, end] = this.#pageRange(range);
    await this.#owner.fsyncRange(this.offset + first * VM_PAGE, this.offset + end * VM_PAGE - 1, true);
  }

  /**
   * pin -- take a reference on the device pages under `range` (faulting them in first), as
   * get_user_pages does for bytes handed to asynchronous I/O. Truncate, punch and reflink wait
   * for (or refuse with EBUSY) pinned pages until the pin is released.
   */
  async pin(range: RegionRange = {}, opts: { write?: boolean } = {}): Promise<RegionPin> {
    await this.populate(range, opts.write === true ? 'write' : 'read');
    const [first, end] = this.#pageRange(range);
    const pfns: number[] = [];
    for (let p = first; p < end; p++) if (isDevice(this.#state[p] ?? 0)) pfns.push(this.#pfn[p] ?? -1);
    return this.#owner.pinPages(pfns);
  }

  /** unmap -- munmap: record pending stores, drop every page, detach `bytes`. Idempotent. */
  unmap(): void {
    if (this.#unmapped) return;
    this.#owner.harvestRegion(this);
    this.#unmapped = true;
    this.#owner.detach(this);
    this.#mem.unmap();
  }

  [Symbol.dispose](): void {
    this.unmap();
  }

  // --- FaultVma: the page tables, driven by the fault path and the file's mapping hooks ---

  hugeAt(pgoff: number): boolean {
    return this.#huge[pgoff - this.pgoff] === 1;
  }

  ptesAt(pgoff: number): boolean {
    const [lo, hi] = this.#slot(pgoff - this.pgoff);
    for (let p = lo; p < hi; p++) if (this.#state[p] !== PageState.NONE && this.#huge[p] === 0) return true;
    return false;
  }

  insertPte(pgoff: number, what: PageTableInsert): void {
    const p = pgoff - this.pgoff;
    const at = p * VM_PAGE;
    if (what.zero) {
      if (this.#state[p] === PageState.ZERO) return;
      this.#mapZero(at, VM_PAGE);
      this.#set(p, 1, PageState.ZERO, -1, 0);
      return;
    }
    const why = this.#owner.pteUnsupported;
    if (why !== null) throw new PmemdaxError('ERR_PMEMDAX_DEVDAX_ALIGNMENT', why, { offset: pgoff * VM_PAGE });
    const state = this.#stateFor(what);
    if (isDevice(this.#state[p] ?? 0) && this.#pfn[p] === what.pfn) {
      // pfn_mkwrite: the same block, mapped read-only before; upgrade in place.
      if (state > (this.#state[p] ?? 0)) this.#mem.protect(at, VM_PAGE, accessOf(state));
      this.#state[p] = Math.max(state, this.#state[p] ?? 0);
      return;
    }
    this.#mapDevice(at, what.pfn, VM_PAGE, state);
    this.#set(p, 1, state, what.pfn, 0);
  }

  insertPmd(pgoff: number, what: PageTableInsert): void {
    const p = pgoff - this.pgoff;
    const at = p * VM_PAGE;
    if (what.zero) {
      this.#mapZero(at, PMD_BYTES);
      this.#set(p, PMD_PAGES, PageState.ZERO, -1, 1);
      return;
    }
    const state = this.#stateFor(what);
    if (this.#huge[p] === 1 && isDevice(this.#state[p] ?? 0) && this.#pfn[p] === what.pfn) {
      if (state > (this.#state[p] ?? 0)) this.#mem.protect(at, PMD_BYTES, accessOf(state));
      for (let i = p; i < p + PMD_PAGES; i++) this.#state[i] = Math.max(state, this.#state[i] ?? 0);
      return;
    }
    this.#mapDevice(at, what.pfn, PMD_BYTES, state);
    this.#set(p, PMD_PAGES, state, what.pfn, 1);
  }

  /**
   * A private region shows file pages through a private mapping with the trap armed: a raw store is
   * logged and copied on write by the kernel, never reaching the device (device-dax allows no
   * private mappings: there a store needs `populate(range, 'write')`).
   */
  #privateTraps(): boolean {
    return !this.shared && this.writable && this.#owner.device.info.kind !== 'devdax';
  }

  #stateFor(what: PageTableInsert): PageState {
    if (!what.write && this.#privateTraps()) return PageState.TRAP;
    return stateFor(what);
  }

  #mapDevice(at: number, pfn: number, length: number, state: PageState): void {
    const run = this.#pending;
    if (this.#populating > 0 && length === VM_PAGE) {
      // Consecutive pages of one extent become one mmap when the populate ends (or before anything
      // else touches this region's mappings): one system call and one kernel mapping, not hundreds.
      const p = at / VM_PAGE;
      if (run !== null && run.state === state && p === run.page + run.count && pfn === run.pfn + run.count) {
        run.count++;
        return;
      }
      this.#flushPending();
      this.#pending = { page: p, pfn, count: 1, state };
      return;
    }
    this.#mem.mapDevice(at, this.#owner.device, pfn * VM_PAGE, length, this.#accessFor(state));
  }

  #accessFor(state: PageState): Exclude<PageAccess, 'none'> | 'private-trap' {
    return this.#privateTraps() && state === PageState.TRAP ? 'private-trap' : (accessOf(state) as Exclude<PageAccess, 'none'>);
  }

  /** The address space, with any deferred inserts made first, so native calls always see them. */
  get #mem(): AddressSpace {
    this.#flushPending();
    return this.#as;
  }

  #flushPending(): void {
    const run = this.#pending;
    if (run === null) return;
    this.#pending = null;
    try {
      this.#as.mapDevice(run.page * VM_PAGE, this.#owner.device, run.pfn * VM_PAGE, run.count * VM_PAGE, this.#accessFor(run.state));
    } catch (e) {
      // Nothing is mapped there after all: the pages fault again next time.
      this.#set(run.page, run.count, PageState.NONE, -1, 0);
      if ((e as { code?: unknown }).code === 'ENOMEM') (e as Error).message += ' (the process may have reached vm.max_map_count mappings)';
      throw e;
    }
  }

  /** Zero pages; armed in a private region, where a store just makes them private anonymous memory. */
  #mapZero(at: number, length: number): void {
    this.#mem.mapZero(at, length);
    if (this.#privateTraps()) this.#mem.protect(at, length, 'trap');
  }

  installCow(pgoff: number, data: Uint8Array): void {
    const p = pgoff - this.pgoff;
    this.#mem.mapAnonymous(p * VM_PAGE, VM_PAGE);
    this.#mem.bytes.set(data, p * VM_PAGE);
    this.#set(p, 1, PageState.COW, -1, 0);
  }

  /** splitHuge -- __split_huge_pmd: the 2 MiB mapping around `pgoff` becomes 512 page mappings. */
  splitHuge(pgoff: number): void {
    const [lo, hi] = this.#slot(pgoff - this.pgoff);
    this.#huge.fill(0, lo, hi);
  }

  // --- The mapping hooks: called for every region of the file ---

  /** Region pages showing file pages `[first, first+count)`, clipped: [from, to) region-relative. */
  window(first: number, count: number): [number, number] {
    const from = Math.max(first - this.pgoff, 0);
    const to = Math.min(first + count - this.pgoff, this.pages);
    return [from, Math.max(from, to)];
  }

  /**
   * unmap_mapping_pages for this region; private copies stay unless `evenCows`. Taking part of a
   * 2 MiB mapping away takes all of it, as the kernel zaps a DAX PMD it splits: the other pages may
   * belong to an entry that is gone (a zero folio replaced by data, a PMD entry deleted), and a page
   * left mapped without its entry would show stale zeros or escape writeback.
   */
  unmapPages(first: number, count: number, evenCows: boolean): void {
    if (this.#unmapped) return;
    let [from, to] = this.window(first, count);
    if (from < to) {
      if (this.#huge[from] === 1) from = this.#slot(from)[0];
      if (this.#huge[to - 1] === 1) to = this.#slot(to - 1)[1];
    }
    const want = (p: number): boolean => {
      const s = this.#state[p];
      return s !== PageState.NONE && (evenCows || s !== PageState.COW);
    };
    forRuns(from, to, want, (p, n) => {
      this.#mem.release(p * VM_PAGE, n * VM_PAGE);
      this.#set(p, n, PageState.NONE, -1, 0);
    });
  }

  /** pfn_mkclean_range for this region: write-protect (re-arm the trap of) the writable pages of the block. */
  cleanPages(first: number, count: number, pfn: number): void {
    if (this.#unmapped || !this.shared) return;
    const [from, to] = this.window(first, count);
    const want = (p: number): boolean => this.#state[p] === PageState.WRITE && this.#pfn[p] === pfn + (this.pgoff + p - first);
    forRuns(from, to, want, (p, n) => {
      this.#mem.protect(p * VM_PAGE, n * VM_PAGE, 'trap');
      this.#state.fill(PageState.TRAP, p, p + n);
    });
  }

  /**
   * writeProtectPages -- make the device pages of file pages `[first, first+count)` plain read-only
   * (no trap): their blocks became shared, so the next store must fault through the filesystem,
   * which copies on write.
   */
  writeProtectPages(first: number, count: number): void {
    if (this.#unmapped || !this.shared) return;
    const [from, to] = this.window(first, count);
    const want = (p: number): boolean => this.#state[p] === PageState.TRAP || this.#state[p] === PageState.WRITE;
    forRuns(from, to, want, (p, n) => {
      this.#mem.protect(p * VM_PAGE, n * VM_PAGE, 'read');
      this.#state.fill(PageState.READ, p, p + n);
    });
  }

  /**
   * Pages stored to through armed traps since the last call. In a shared region they are writable
   * now and their file pages are returned, to be marked DIRTY; in a private region they became
   * private copies (COW). `traps` counts both.
   */
  harvestTraps(): { dirtied: number[]; traps: number } {
    const dirtied: number[] = [];
    let traps = 0;
    if (this.#unmapped) return { dirtied, traps };
    // Pages still waiting in `#pending` are not mapped yet, so they cannot have trapped.
    for (const off of this.#as.harvestWrites()) {
      const p = off / VM_PAGE;
      const s = this.#state[p];
      if (this.shared && s === PageState.TRAP) {
        this.#state[p] = PageState.WRITE;
        dirtied.push(this.pgoff + p);
      } else if (!this.shared && (s === PageState.TRAP || s === PageState.ZERO)) {
        if (this.#huge[p] === 1) this.splitHuge(this.pgoff + p);
        this.#set(p, 1, PageState.COW, -1, 0);
      } else {
        continue;
      }
      traps++;
    }
    return { dirtied, traps };
  }

  #set(p: number, n: number, state: PageState, pfn: number, huge: 0 | 1): void {
    this.#state.fill(state, p, p + n);
    this.#huge.fill(huge, p, p + n);
    for (let i = 0; i < n; i++) this.#pfn[p + i] = pfn < 0 ? -1 : pfn + i;
  }

  /** Region pages of the 2 MiB virtual slot holding region page `p`, clipped to the region. */
  #slot(p: number): [number, number] {
    const v = this.colour + p;
    const lo = v - (v % PMD_PAGES) - this.colour;
    return [Math.max(lo, 0), Math.min(lo + PMD_PAGES, this.pages)];
  }

  #pageRange(range: RegionRange): [number, number] {
    const offset = range.offset ?? 0;
    const length = range.length ?? this.length - offset;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.length) {
      throw new RangeError(`range [${offset}, +${length}) is outside the region of ${this.length} bytes`);
    }
    return [Math.floor(offset / VM_PAGE), Math.ceil((offset + length) / VM_PAGE)];
  }

  #checkOpen(): void {
    if (this.#unmapped) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', 'the region is unmapped');
  }

  #readonly(): Error {
    return new PmemdaxError('ERR_PMEMDAX_READONLY', 'the region was mapped without write access');
  }
}

function stateFor(what: PageTableInsert): PageState {
  if (what.write) return PageState.WRITE;
  return what.writableOnTrap ? PageState.TRAP : PageState.READ;
}

function accessOf(state: number): PageAccess {
  if (state === PageState.WRITE) return 'write';
  if (state === PageState.TRAP) return 'trap';
  return 'read';
}
