import { Device } from '../device/device';
import { checkBooleans, checkIndex, checkNumber, checkOptions } from '../device/validate';
import { daxBreakLayout } from '../dax/break-layout';
import { EntryKind } from '../dax/entry';
import { daxError } from '../dax/errors';
import { daxIomapFault } from '../dax/fault';
import { VmFault, type FaultOutcome, type VmFaultInfo } from '../dax/fault-types';
import { daxFinishSyncFault } from '../dax/finish-sync-fault';
import { daxLayoutBusyPageRange, type BusyPage } from '../dax/layout-busy';
import type { PageTableHooks } from '../dax/mapping';
import type { DaxInode } from '../dax/types';
import { PmemdaxError, argTypeError, argValueError, outOfRangeError } from '../errors';
import { PMD_ORDER } from '../iomap/constants';
import { Errno } from '../iomap/errno';
import type { IomapOps } from '../iomap/types';
import { MAX_ADDRESS_SPACE, VM_PAGE } from './address-space';
import { RegionPin } from './pin';
import { RegionPageTable, type PageTableOwner } from './page-table';
import { DaxRegion, type RegionOwner } from './region';
import { emptyVmStats, type VmStats } from './stats';

const LAST_BYTE = Number.MAX_SAFE_INTEGER;

/** What a filesystem supplies for one of its files to be mapped. */
export interface DaxFileHost<I extends DaxInode = DaxInode> {
  readonly inode: I;
  readonly ops: IomapOps<I>;
  /** The native device the file's blocks live on (regions map it). */
  readonly device: Device;
  /** fsync / fdatasync of file bytes `[start, end]`: DAX writeback of the mapping plus the metadata commit. */
  fsync(start: number, end: number, datasync: boolean): Promise<void>;
  /** The filesystem's invalidate lock; faults hold it shared (truncate and punch hold it alone). */
  readonly invalidateLock?: { read(): Promise<() => void> };
}

/** mmap's options are required (there is no default length): anything but an object is ERR_INVALID_ARG_TYPE, as are non-number offset and length. */
export function checkMmapOptions(opts: unknown): asserts opts is MmapOptions {
  if (typeof opts !== 'object' || opts === null) throw argTypeError(`The "options" argument must be of type object, received ${opts === null ? 'null' : typeof opts}`);
  const { offset, length } = opts as { offset?: unknown; length?: unknown };
  if (offset !== undefined) checkNumber(offset, 'offset');
  checkNumber(length, 'length');
  checkBooleans(opts, ['shared', 'sync', 'write', 'huge']);
}

export interface MmapOptions {
  /** File offset of the first byte; page-aligned. Default 0. */
  readonly offset?: number;
  /** Bytes to map (may reach past EOF: faults there are SIGBUS, as in the kernel). */
  readonly length: number;
  /** MAP_SHARED (default) or MAP_PRIVATE (stores copy on write and never reach the file). */
  readonly shared?: boolean;
  /** MAP_SYNC: a write fault makes the block's metadata durable before the page becomes writable. */
  readonly sync?: boolean;
  /** PROT_WRITE (default true). */
  readonly write?: boolean;
  /** Try 2 MiB mappings where the file allows (default true). */
  readonly huge?: boolean;
}

/** A byte range of the file; the defaults cover all of it. */
export interface FileRange {
  readonly offset?: number;
  readonly length?: number;
}

/**
 * DaxFile -- a DAX file as the virtual-memory layer sees it: the filesystem's inode and iomap ops,
 * the regions (VMAs) mapping it, and the page-table hooks its mapping calls (unmap, write-protect
 * before flush). It runs the filesystem's fault handler: invalidate lock shared, PMD first, PTE on
 * fallback, and finish-sync-fault for MAP_SYNC. One DaxFile per inode.
 */
export class DaxFile implements PageTableHooks, PageTableOwner, RegionOwner, Disposable {
  readonly host: DaxFileHost;
  readonly stats: VmStats = emptyVmStats();
  readonly pteUnsupported: string | null;
  /** Each region with its page tables. */
  readonly #regions = new Map<DaxRegion, RegionPageTable>();
  #closed = false;

  constructor(host: DaxFileHost) {
    if (!(host.device instanceof Device)) throw argTypeError('A mapped DAX file needs a native Device');
    if (host.inode.mapping.pageTables !== null) throw argValueError('The file already has page tables (one DaxFile per inode)');
    this.host = host;
    const info = host.device.info;
    this.pteUnsupported =
      info.kind === 'devdax' && info.deviceAlignment > VM_PAGE
        ? `device-dax ${info.path} has ${info.deviceAlignment}-byte alignment: it can be mapped only in whole ${info.deviceAlignment}-byte pieces, ` +
          'and this fault needed a 4 KiB page (misaligned region or extent, private write, or EOF inside the 2 MiB)'
        : null;
    host.inode.mapping.pageTables = this;
  }

  get device(): Device {
    return this.host.device;
  }

  get regions(): readonly DaxRegion[] {
    return [...this.#regions.keys()];
  }

  /** mmap -- a region over `[offset, offset+length)` of the file. */
  mmap(opts: MmapOptions): DaxRegion {
    checkMmapOptions(opts);
    this.#checkOpen();
    const offset = opts.offset ?? 0;
    const { length } = opts;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % VM_PAGE !== 0) {
      throw outOfRangeError(`The offset must be a page-aligned byte offset, received ${offset}`);
    }
    if (!Number.isSafeInteger(length) || length <= 0) throw outOfRangeError(`The length must be a positive integer, received ${length}`);
    // One Uint8Array shows the region, and V8 makes none over 4 GiB: map larger files in several regions.
    if (length > MAX_ADDRESS_SPACE) {
      throw outOfRangeError(`A region maps at most ${MAX_ADDRESS_SPACE} bytes (4 GiB); map a larger range as several regions, received ${length}`);
    }
    const shared = opts.shared ?? true;
    const sync = opts.sync ?? false;
    const info = this.device.info;
    if (sync && (!shared || !info.mapSync)) {
      // MAP_SHARED_VALIDATE|MAP_SYNC on a device (or mapping type) that cannot honour it.
      throw daxError(-Errno.EOPNOTSUPP, 'mmap', { path: this.host.inode.path });
    }
    if (info.kind === 'devdax' && offset % info.deviceAlignment !== 0) {
      throw daxError(-Errno.EINVAL, 'mmap', { path: this.host.inode.path, offset });
    }
    const shape = { offset, length, shared, sync, write: opts.write ?? true, huge: opts.huge ?? true };
    const table = new RegionPageTable(this, shape);
    const region = new DaxRegion(this, shape, table);
    this.#regions.set(region, table);
    return region;
  }

  /** fsync -- write back every dirty entry (after recording the stores caught since last time) and commit metadata. */
  async fsync(range: FileRange = {}): Promise<void> {
    const [start, end] = byteRange(range);
    await this.fsyncRange(start, end, false);
  }

  async fsyncRange(start: number, end: number, datasync: boolean): Promise<void> {
    this.#checkOpen();
    this.harvest();
    await this.host.fsync(start, end, datasync);
  }

  /** harvest -- turn the stores caught by write traps into DIRTY marks (the deferred half of page_mkwrite). */
  harvest(): void {
    for (const t of this.#regions.values()) this.harvestRegion(t);
  }

  harvestRegion(table: RegionPageTable): void {
    const { dirtied, traps } = table.harvestTraps();
    this.stats.writeTraps += traps;
    const m = this.host.inode.mapping;
    for (const pgoff of dirtied) {
      const e = m.tree.load(pgoff);
      if (e !== undefined && e.kind === EntryKind.REAL) {
        e.dirty = true;
        m.inodeDirty = true;
      }
    }
  }

  /** unmap_mapping_range -- drop the mappings of file bytes `[start, start+length)` (0: to EOF) in every region. */
  unmapMappingRange(start: number, length: number, evenCows: boolean): void {
    const first = Math.floor(start / VM_PAGE);
    const count = length === 0 ? Number.MAX_SAFE_INTEGER - first : Math.ceil((start + length) / VM_PAGE) - first;
    this.unmapPages(first, count, evenCows);
  }

  /** layoutBusyPage -- dax_layout_busy_page_range over file bytes: unmap the range, report the first pinned page. */
  layoutBusyPage(range: FileRange = {}): Promise<BusyPage | null> {
    const [first, last] = pageRange(range);
    return daxLayoutBusyPageRange(this.host.inode.mapping, this.device, first, last);
  }

  /** breakLayout -- wait for (or, without `wait`, refuse with EBUSY) pinned pages, then drop every entry of the range. */
  breakLayout(range: FileRange = {}, opts: { wait?: boolean } = {}): Promise<void> {
    checkOptions(opts);
    checkBooleans(opts, ['wait']);
    const [first, last] = pageRange(range);
    return daxBreakLayout(this.host.inode.mapping, this.device, first, last, { wait: opts.wait === true, path: this.host.inode.path });
  }

  /** close -- unmap every region and detach from the inode. Idempotent. */
  close(): void {
    if (this.#closed) return;
    for (const r of this.#regions.keys()) r.unmap();
    this.#closed = true;
    this.host.inode.mapping.pageTables = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // --- PageTableHooks ---

  unmapPages(first: number, count: number, evenCows: boolean): void {
    this.harvest();
    for (const t of this.#regions.values()) t.unmapPages(first, count, evenCows);
  }

  cleanPages(first: number, count: number, pfn: number): void {
    // Called once per entry that writeback is about to flush, whole.
    this.stats.writebackEntries++;
    this.stats.writebackBytes += count * VM_PAGE;
    for (const t of this.#regions.values()) {
      this.harvestRegion(t);
      t.cleanPages(first, count, pfn);
    }
  }

  writeProtectPages(first: number, count: number): void {
    this.harvest();
    for (const t of this.#regions.values()) t.writeProtectPages(first, count);
  }

  // --- RegionOwner ---

  detach(region: DaxRegion): void {
    this.#regions.delete(region);
  }

  pinPages(pfns: readonly number[]): RegionPin {
    return new RegionPin(this.device, pfns);
  }

  /**
   * handleFault -- the filesystem's huge_fault: with the invalidate lock shared, a PMD fault where
   * the region allows it, a PTE fault after a fallback (splitting any 2 MiB mapping there), then
   * finish-sync-fault outside the lock. Throws for SIGBUS, HWPOISON and OOM.
   */
  async handleFault(table: RegionPageTable, pgoff: number, write: boolean): Promise<void> {
    // The page-state table must know what stores did first: a private page the kernel already
    // copied must not be copied again from the file.
    this.harvestRegion(table);
    // An access the page already allows takes no fault. One that succeeds without mapping the page
    // (a race it lost, a sync fault whose entry changed) is retried, as the CPU retries the access.
    for (let attempt = 0; attempt < 4 && !table.mappedFor(pgoff, write); attempt++) {
      await this.#faultOnce(table, pgoff, write);
    }
  }

  async #faultOnce(table: RegionPageTable, pgoff: number, write: boolean): Promise<void> {
    this.#checkOpen();
    const { inode, ops } = this.host;
    const vmf: VmFaultInfo = { vma: table, pgoff, write };
    const release = this.host.invalidateLock ? await this.host.invalidateLock.read() : null;
    let out: FaultOutcome;
    let order: 0 | typeof PMD_ORDER = 0;
    try {
      // The file may have been closed, or the region unmapped, while the lock was awaited: a fault
      // must not insert pages into page tables that are gone.
      this.#checkOpen();
      if (table.unmapped) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', 'the region is unmapped');
      out = table.huge ? await daxIomapFault(inode, vmf, PMD_ORDER, ops) : { result: VmFault.FALLBACK, pfn: 0, iomapError: 0, fallback: null, hole: false };
      if (table.huge && (out.result === VmFault.FALLBACK || out.result === 0)) {
        this.stats.pmdFallbacks++;
        const why = out.fallback ?? 'extent-short';
        this.stats.fallbackReasons[why] = (this.stats.fallbackReasons[why] ?? 0) + 1;
      }
      if (out.result === VmFault.FALLBACK || out.result === 0) {
        if (table.hugeAt(pgoff)) table.splitHuge(pgoff);
        out = await daxIomapFault(inode, vmf, 0, ops);
      } else {
        order = PMD_ORDER;
      }
    } finally {
      release?.();
    }
    this.#count(out, order, write);
    let result = out.result;
    if ((result & VmFault.NEEDDSYNC) !== 0) {
      result = await daxFinishSyncFault(inode, vmf, order, out.pfn, (s, e) => this.fsyncRange(s, e, true));
    }
    this.#raise(result, pgoff);
  }

  #count(out: FaultOutcome, order: number, write: boolean): void {
    const s = this.stats;
    if (order === PMD_ORDER) s.pmdFaults++;
    else s.ptePageFaults++;
    if (write) s.writeFaults++;
    else s.readFaults++;
    if (out.hole) s.holeFaults++;
    const r = out.result;
    if (r & VmFault.DONE_COW) s.cowFaults++;
    if (r & VmFault.MAJOR) s.majorFaults++;
    if (r & VmFault.NEEDDSYNC) s.syncFaults++;
  }

  #raise(result: number, pgoff: number): void {
    const details = { path: this.host.inode.path, offset: pgoff * VM_PAGE };
    if (result & VmFault.SIGBUS) {
      this.stats.sigbus++;
      throw new PmemdaxError('ERR_PMEMDAX_SIGBUS', `SIGBUS: no page at file offset ${details.offset} (beyond EOF, or the filesystem failed)`, details);
    }
    if (result & VmFault.HWPOISON) {
      this.stats.hwpoison++;
      throw daxError(-Errno.EHWPOISON, 'fault', details);
    }
    if (result & VmFault.OOM) {
      this.stats.oom++;
      const e = daxError(-Errno.ENOMEM, 'fault', details);
      e.message += ' (out of memory, or the process reached vm.max_map_count mappings)';
      throw e;
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', 'the file is closed');
  }
}

/** A file range argument: not an object (or a non-number inside) is ERR_INVALID_ARG_TYPE; NaN, negative, fractional is ERR_OUT_OF_RANGE. */
function byteRange(range: FileRange): [number, number] {
  checkOptions(range, 'range');
  if (range.offset !== undefined) checkIndex(range.offset, 'offset');
  if (range.length !== undefined) checkIndex(range.length, 'length');
  const start = range.offset ?? 0;
  const end = range.length === undefined ? LAST_BYTE : start + range.length - 1;
  return [start, end];
}

function pageRange(range: FileRange): [number, number] {
  const [start, end] = byteRange(range);
  return [Math.floor(start / VM_PAGE), end === LAST_BYTE ? Number.MAX_SAFE_INTEGER : Math.floor(end / VM_PAGE)];
}
