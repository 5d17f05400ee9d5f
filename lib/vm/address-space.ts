import { nativeHandleOf, type Device } from '../device/device';
import { native, type NativeRegion } from '../native';
import { PmemdaxError, argValueError, outOfRangeError } from '../errors';
import { registerMapping } from '../device/mapped-memory';
import { checkIndex } from '../device/validate';
import { PAGE_SIZE } from '../units';

/** The page of a mapping (PAGE_SIZE under the name lib/vm has always exported). */
export const VM_PAGE = PAGE_SIZE;
/** The largest address space (and so region): one ArrayBuffer covers it, and V8 makes none larger. */
export const MAX_ADDRESS_SPACE = 2 ** 32;

/** How a range of an address space may be touched. `trap`: read-only until a first store, which is logged. */
export type PageAccess = 'none' | 'read' | 'write' | 'trap';

/**
 * What device pages may be mapped with. `private-trap`: privately, read-only until a first store, which is
 * logged and then copied on write by the kernel.
 */
export type DeviceAccess = Exclude<PageAccess, 'none'> | 'private-trap';

/** What the library's own copies may do with a page (see mapped-memory.ts). */
const PageReach = { None: 0, Load: 1, Store: 2 } as const;
type PageReach = (typeof PageReach)[keyof typeof PageReach];

const { access: NATIVE_ACCESS } = native.constants;

/**
 * Every page permission, once: the native access it maps or protects with, and what the library's
 * copies may then do with the page (a store to a trap page is caught and allowed, so it reaches Store).
 */
const PERMISSION: Readonly<Record<PageAccess | DeviceAccess, { readonly native: number; readonly reach: PageReach }>> = {
  none: { native: NATIVE_ACCESS.NONE, reach: PageReach.None },
  read: { native: NATIVE_ACCESS.READ, reach: PageReach.Load },
  write: { native: NATIVE_ACCESS.READ_WRITE, reach: PageReach.Store },
  trap: { native: NATIVE_ACCESS.TRAP_WRITE, reach: PageReach.Store },
  'private-trap': { native: NATIVE_ACCESS.PRIVATE_TRAP_WRITE, reach: PageReach.Store },
};

const PAGE_ACCESSES: readonly PageAccess[] = ['none', 'read', 'write', 'trap'];
const DEVICE_ACCESSES: readonly DeviceAccess[] = ['read', 'write', 'trap', 'private-trap'];

/** The permission an access string names; ERR_INVALID_ARG_VALUE for one the call does not take. */
function permissionOf(access: unknown, allowed: readonly string[]): (typeof PERMISSION)[PageAccess] {
  if (typeof access !== 'string' || !allowed.includes(access)) {
    throw argValueError(`The "access" argument must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, received ${String(access)}`);
  }
  return PERMISSION[access as PageAccess | DeviceAccess];
}

/**
 * A reserved range of virtual memory seen from JavaScript as one Uint8Array. The fault layer places device
 * pages, zero pages and private anonymous pages into it; until then its pages are inaccessible. This is the
 * userspace stand-in for a process's page tables over one mapping.
 */
export class AddressSpace {
  readonly length: number;
  /** The whole range; touching a page that holds nothing kills the process (SIGSEGV), as it would in C. */
  readonly bytes: Uint8Array;
  readonly #native: NativeRegion;
  /** PageReach of every page, for refusing library copies the pages cannot take. */
  readonly #reach: Uint8Array;
  #unmapped = false;

  /**
   * `trapGranule`: bytes a write trap opens at once, around the page stored to. 4 KiB, or the alignment
   * of a device-dax mapped here, which the kernel will not split finer (its traps and `trap` protections
   * must then cover whole granules).
   */
  constructor(length: number, alignment = VM_PAGE, trapGranule = VM_PAGE) {
    checkIndex(length, 'length');
    checkIndex(alignment, 'alignment');
    checkIndex(trapGranule, 'trapGranule');
    if (length === 0 || length % VM_PAGE !== 0) throw outOfRangeError(`An address space is whole pages, received ${length} bytes`);
    for (const [name, value] of [['alignment', alignment], ['trapGranule', trapGranule]] as const) {
      if (value < VM_PAGE || (value & (value - 1)) !== 0) {
        throw outOfRangeError(`The ${name} must be a power of two of at least ${VM_PAGE}, received ${value}`);
      }
    }
    if (length % trapGranule !== 0) throw outOfRangeError(`An address space is whole trap granules (${trapGranule} bytes)`);
    if (length > MAX_ADDRESS_SPACE || alignment > MAX_ADDRESS_SPACE) {
      throw outOfRangeError(`An address space and its alignment are at most ${MAX_ADDRESS_SPACE} bytes (4 GiB), received ${Math.max(length, alignment)}`);
    }
    this.length = length;
    this.#native = new native.NativeRegion(length, alignment, trapGranule);
    this.#reach = new Uint8Array(length / VM_PAGE);
    const buffer = this.#native.buffer();
    registerMapping(buffer, (offset, bytes, write) => this.#reachable(offset, bytes, write));
    this.bytes = new Uint8Array(buffer);
  }

  get unmapped(): boolean {
    return this.#unmapped;
  }

  /**
   * Shows device bytes [deviceOffset, +length) at `offset`, shared with the device; or, with
   * `'private-trap'`, privately: read-only until a first store, which is logged and then copied on
   * write by the kernel, so it never reaches the device (not possible on device-dax).
   */
  mapDevice(
    offset: number,
    device: Device,
    deviceOffset: number,
    length: number,
    access: DeviceAccess,
  ): void {
    this.#checkOpen();
    const permission = permissionOf(access, DEVICE_ACCESSES);
    this.#native.mapDevice(offset, nativeHandleOf(device), deviceOffset, length, permission.native);
    this.#setReach(offset, length, permission.reach);
  }

  /** Read-only zero pages (a hole, or an unwritten extent). */
  mapZero(offset: number, length: number): void {
    this.#checkOpen();
    checkIndex(offset, 'offset');
    checkIndex(length, 'length');
    this.#native.mapZero(offset, length);
    this.#setReach(offset, length, PERMISSION.read.reach);
  }

  /** Private, writable, zero-filled anonymous pages (copy-on-write targets). */
  mapAnonymous(offset: number, length: number): void {
    this.#checkOpen();
    checkIndex(offset, 'offset');
    checkIndex(length, 'length');
    this.#native.mapAnon(offset, length);
    this.#setReach(offset, length, PERMISSION.write.reach);
  }

  protect(offset: number, length: number, access: PageAccess): void {
    this.#checkOpen();
    checkIndex(offset, 'offset');
    checkIndex(length, 'length');
    const permission = permissionOf(access, PAGE_ACCESSES);
    this.#native.protect(offset, length, permission.native);
    this.#setReach(offset, length, permission.reach);
  }

  /** Takes whatever is mapped at the range away; the pages become inaccessible again. */
  release(offset: number, length: number): void {
    this.#checkOpen();
    checkIndex(offset, 'offset');
    checkIndex(length, 'length');
    this.#native.release(offset, length);
    this.#setReach(offset, length, PERMISSION.none.reach);
  }

  /** Byte offsets of the pages stored to through `trap` pages since the last call, in trap order. */
  harvestWrites(): number[] {
    this.#checkOpen();
    return Array.from(this.#native.harvest(), (page) => page * VM_PAGE);
  }

  /** Write traps taken over the life of this address space. */
  get writeTraps(): number {
    return this.#native.stats().writeTraps;
  }

  /** Unmaps everything and detaches `bytes`. Idempotent. */
  unmap(): void {
    if (this.#unmapped) return;
    this.#unmapped = true;
    this.#native.unmap();
  }

  #checkOpen(): void {
    if (this.#unmapped) throw new PmemdaxError('ERR_PMEMDAX_CLOSED', 'the address space is unmapped');
  }

  // Called after the native call succeeded, which checked the range.
  #setReach(offset: number, length: number, reach: PageReach): void {
    this.#reach.fill(reach, offset / VM_PAGE, (offset + length) / VM_PAGE);
  }

  #reachable(offset: number, length: number, write: boolean): boolean {
    const need = write ? PageReach.Store : PageReach.Load;
    const end = Math.ceil((offset + length) / VM_PAGE);
    for (let page = Math.floor(offset / VM_PAGE); page < end; page++) if ((this.#reach[page] ?? PageReach.None) < need) return false;
    return true;
  }
}
