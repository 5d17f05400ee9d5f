import type { Device } from '../device/device';
import type { FaultVma, PageTableInsert } from '../dax/fault-types';
import { PmemdaxError } from '../errors';
import { PMD_PAGES } from '../iomap/constants';
import { AddressSpace, VM_PAGE, type DeviceAccess } from './address-space';
import { VmArea, type RegionShape } from './vm-area';
import { DEVICE_PAGE_ACCESS, forRuns, isDevice, PageState, type DevicePageState } from './page-state';

const PMD_BYTES = VM_PAGE * PMD_PAGES;

/** What the page tables need of the file (implemented by DaxFile). */
export interface PageTableOwner {
  readonly device: Device;
  /** Why 4 KiB mappings are impossible on this device (device-dax with a larger alignment), or null. */
  readonly pteUnsupported: string | null;
}

/**
 * RegionPageTable -- a VMA and its page tables: reserved address space seen as one Uint8Array, a
 * page-state table (what each page shows, which device page, whether it is part of a 2 MiB mapping),
 * the inserts the fault path asks for, and the hooks the file's mapping calls (unmap, write-protect
 * before flush, write-protect for CoW, harvest of write traps). The DaxRegion a user holds has one;
 * only the fault path and the file's mapping reach it.
 */
export class RegionPageTable extends VmArea implements FaultVma {
  /** The reservation is 2 MiB-aligned, so the first page sits at colour 0 of the 2 MiB grid. */
  readonly colour = 0;
  readonly bytes: Uint8Array;
  readonly #owner: PageTableOwner;
  readonly #as: AddressSpace;
  readonly #state: Uint8Array;
  readonly #huge: Uint8Array;
  readonly #pfn: Float64Array;
  #unmapped = false;
  /** Gatherings in progress (populate calls); while any is, 4 KiB device inserts collect in `#pending`. */
  #gathering = 0;
  #pending: { page: number; pfn: number; count: number; state: DevicePageState } | null = null;

  constructor(owner: PageTableOwner, shape: RegionShape) {
    super(shape);
    this.#owner = owner;
    // Device-dax with a 2 MiB alignment cannot be write-protected or opened in smaller pieces.
    const info = owner.device.info;
    const granule = info.kind === 'devdax' ? Math.min(info.deviceAlignment, PMD_BYTES) : VM_PAGE;
    this.#as = new AddressSpace(Math.ceil(this.pages * VM_PAGE / granule) * granule, PMD_BYTES, granule);
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

  /** The device page region page `page` shows, or -1. */
  pfnAt(page: number): number {
    return this.#pfn[page] ?? -1;
  }

  /**
   * gatherInserts -- until the returned function is called, consecutive 4 KiB device inserts are
   * mapped together, with one system call (populate uses it). Nested gatherings map at the last end.
   */
  gatherInserts(): () => void {
    this.#gathering++;
    return () => {
      if (--this.#gathering === 0 && !this.#unmapped) this.#flushPending();
    };
  }

  /** destroy -- unmap everything and detach `bytes`. */
  destroy(): void {
    if (this.#unmapped) return;
    this.#unmapped = true;
    this.#pending = null;
    this.#as.unmap();
  }

  // --- FaultVma: driven by the fault path ---

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
      if (state > (this.#state[p] ?? 0)) this.#mem.protect(at, VM_PAGE, DEVICE_PAGE_ACCESS[state]);
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
      if (state > (this.#state[p] ?? 0)) this.#mem.protect(at, PMD_BYTES, DEVICE_PAGE_ACCESS[state]);
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

  #stateFor(what: PageTableInsert): DevicePageState {
    if (!what.write && this.#privateTraps()) return PageState.TRAP;
    return stateFor(what);
  }

  #mapDevice(at: number, pfn: number, length: number, state: DevicePageState): void {
    const run = this.#pending;
    if (this.#gathering > 0 && length === VM_PAGE) {
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

  #accessFor(state: DevicePageState): DeviceAccess {
    return this.#privateTraps() && state === PageState.TRAP ? 'private-trap' : DEVICE_PAGE_ACCESS[state];
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
}

function stateFor(what: PageTableInsert): DevicePageState {
  if (what.write) return PageState.WRITE;
  return what.writableOnTrap ? PageState.TRAP : PageState.READ;
}
