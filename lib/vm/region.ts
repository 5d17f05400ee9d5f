import { PmemdaxError, argTypeError, argValueError, outOfRangeError } from '../errors';
import { checkBooleans, checkNumber, checkOptions, received } from '../device/validate';
import { VM_PAGE } from './address-space';
import { isDevice } from './page-state';
import type { PageState } from './page-state';
import type { RegionPageTable } from './page-table';
import type { RegionPin } from './pin';
import { VmArea, type RegionShape } from './vm-area';

/** The file side a region calls back into (implemented by DaxFile); the fault path gets the region's page table. */
export interface RegionOwner {
  handleFault(table: RegionPageTable, pgoff: number, write: boolean): Promise<void>;
  harvestRegion(table: RegionPageTable): void;
  fsyncRange(start: number, end: number, datasync: boolean): Promise<void>;
  detach(region: DaxRegion): void;
  pinPages(pfns: readonly number[]): RegionPin;
}

/** A byte range of a region; the defaults cover all of it. */
export interface RegionRange {
  readonly offset?: number;
  readonly length?: number;
}

/**
 * DaxRegion -- the userspace mmap of a DAX file range: one Uint8Array over reserved address space,
 * whose pages the fault path fills with device pages, zero pages or private copies. The region holds
 * its page tables (a RegionPageTable, which the fault path and the file's mapping drive); it is not
 * one. Pages are accessible only once faulted in (`populate`, `fault`); stores to pages that writeback
 * write-protected are caught natively and re-dirty their entry.
 */
export class DaxRegion extends VmArea implements Disposable {
  /** The mapped bytes; a raw access to a page not faulted in is SIGSEGV. */
  readonly bytes: Uint8Array;
  readonly #owner: RegionOwner;
  readonly #table: RegionPageTable;

  /** Made by `DaxFile.mmap`, with the page table it made for the region of that shape. */
  constructor(owner: RegionOwner, shape: RegionShape, table: RegionPageTable) {
    super(shape);
    this.#owner = owner;
    this.#table = table;
    this.bytes = table.bytes;
  }

  get unmapped(): boolean {
    return this.#table.unmapped;
  }

  /** What region page `page` shows now. */
  pageState(page: number): PageState {
    return this.#table.pageState(page);
  }

  /** Whether region page `page` is part of a 2 MiB mapping. */
  isHuge(page: number): boolean {
    return this.#table.isHuge(page);
  }

  /**
   * populate -- fault in every page of `range` that is not yet accessible for `mode`: for 'read'
   * any mapping will do; for 'write' the page must be writable (a shared region allocates holes
   * and dirties the entry; a private one copies on write). MAP_POPULATE / madvise(WILLNEED).
   */
  async populate(range: RegionRange = {}, mode: 'read' | 'write' = 'read'): Promise<void> {
    this.#checkOpen();
    const [first, end] = this.#pageRange(range);
    if (mode !== 'read' && mode !== 'write') {
      if (typeof mode !== 'string') throw argTypeError(`The "mode" argument must be of type string. ${received(mode)}`);
      throw argValueError(`The "mode" argument must be 'read' or 'write', received '${String(mode)}'`);
    }
    if (mode === 'write' && !this.writable) throw this.#readonly();
    const table = this.#table;
    this.#owner.harvestRegion(table);
    const write = mode === 'write';
    // The pages of a populate become accessible when it resolves.
    const done = table.gatherInserts();
    try {
      for (let p = first; p < end; p++) {
        if (!table.mappedFor(this.pgoff + p, write)) await this.#owner.handleFault(table, this.pgoff + p, write);
      }
    } finally {
      done();
    }
  }

  /**
   * fault -- the page fault a load (or, with `write`, a store) at file page `pgoff` would take; none
   * when the page already allows the access.
   */
  async fault(pgoff: number, opts: { write?: boolean } = {}): Promise<void> {
    checkNumber(pgoff, 'pgoff');
    checkOptions(opts);
    checkBooleans(opts, ['write']);
    this.#checkOpen();
    if (!Number.isInteger(pgoff) || pgoff < this.pgoff || pgoff >= this.pgoff + this.pages) {
      throw outOfRangeError(`file page ${pgoff} is outside the region [${this.pgoff}, ${this.pgoff + this.pages})`);
    }
    if (opts.write === true && !this.writable) throw this.#readonly();
    await this.#owner.handleFault(this.#table, pgoff, opts.write === true);
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
    checkOptions(range, 'range');
    checkOptions(opts);
    checkBooleans(opts, ['write']);
    await this.populate(range, opts.write === true ? 'write' : 'read');
    // Unmapped while populate settled: its pages are gone and must not be pinned.
    this.#checkOpen();
    const [first, end] = this.#pageRange(range);
    const pfns: number[] = [];
    for (let p = first; p < end; p++) if (isDevice(this.#table.pageState(p))) pfns.push(this.#table.pfnAt(p));
    return this.#owner.pinPages(pfns);
  }

  /** unmap -- munmap: record pending stores, drop every page, detach `bytes`. Idempotent. */
  unmap(): void {
    if (this.unmapped) return;
    this.#owner.harvestRegion(this.#table);
    this.#owner.detach(this);
    this.#table.destroy();
  }

  [Symbol.dispose](): void {
    this.unmap();
  }

  /** A range argument: ERR_INVALID_ARG_TYPE for a non-object or non-number, ERR_OUT_OF_RANGE outside the region. */
  #pageRange(range: RegionRange): [number, number] {
    checkOptions(range, 'range');
    if (range.offset !== undefined) checkNumber(range.offset, 'offset');
    if (range.length !== undefined) checkNumber(range.length, 'length');
    const offset = range.offset ?? 0;
    const length = range.length ?? this.length - offset;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.length) {
      throw outOfRangeError(`range [${offset}, +${length}) is outside the region of ${this.length} bytes`);
    }
    return [Math.floor(offset / VM_PAGE), Math.ceil((offset + length) / VM_PAGE)];
  }

  #checkOpen(): void {
    if (this.unmapped) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', 'the region is unmapped');
  }

  #readonly(): Error {
    return new PmemdaxError('ERR_PMEMDAX_READONLY', 'the region was mapped without write access');
  }
}
