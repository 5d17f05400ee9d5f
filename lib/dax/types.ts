import type { IomapInode } from '../iomap/types';
import type { DaxMapping } from './mapping';

/** What the DAX layer needs of a file: its size, block size (must be PAGE) and address space. */
export interface DaxInode extends IomapInode {
  readonly size: number;
  readonly blockSize: number;
  readonly mapping: DaxMapping;
  /** For error messages. */
  readonly path?: string;
}
