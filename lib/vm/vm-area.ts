import { VM_PAGE } from './address-space';

/** What mmap was asked for. */
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

/**
 * VmArea -- the shape of one mapping of a file (a vm_area_struct's flags and place in the file), which
 * both the region a user holds and the page tables behind it have.
 */
export class VmArea {
  /** File offset of the first byte. */
  readonly offset: number;
  readonly length: number;
  /** MAP_SHARED (else MAP_PRIVATE). */
  readonly shared: boolean;
  /** MAP_SYNC. */
  readonly mapSync: boolean;
  /** PROT_WRITE. */
  readonly writable: boolean;
  /** 2 MiB mappings are tried first. */
  readonly huge: boolean;
  /** File page of the first byte. */
  readonly pgoff: number;
  readonly pages: number;

  constructor(shape: RegionShape) {
    this.offset = shape.offset;
    this.length = shape.length;
    this.shared = shape.shared;
    this.mapSync = shape.sync;
    this.writable = shape.write;
    this.huge = shape.huge;
    this.pgoff = shape.offset / VM_PAGE;
    this.pages = Math.ceil(shape.length / VM_PAGE);
  }
}
