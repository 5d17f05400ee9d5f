import { randomBytes } from 'node:crypto';
import type { DaxDevice } from '../device/types';
import { PmemdaxError } from '../errors';
import { finishCheckpoint, writeCheckpoint } from './checkpoint';
import { BLOCK, BLOCKS_MAX, NO_BLOCK, bitmapCopyBlocks, dataStart, defaultJournalBlocks, encodeSuperblock, type Superblock } from './layout';
import { FORMAT_MARKER, ascii, hasPool, startsWith } from './load';
import { readMeta } from './meta-io';
import { PoolState } from './state';

// Making a pool: what the media hold before formatting over them, and the format itself (load.ts
// reads a pool back).

export interface FormatOptions {
  readonly journalBytes?: number;
  readonly progress?: (done: number, total: number) => void;
}

/** Smallest pool: superblocks, a 64 KiB journal, and room for a checkpoint and some data. */
export const MIN_POOL_BYTES = 256 * 1024;
const ZERO_CHUNK = 1 << 20;

/** The bytes looked at to tell blank media from someone's data. */
export const INSPECT_BYTES = 1 << 20;

/** What media hold, as far as formatting over them goes. */
export type MediaContent =
  | { readonly kind: 'pool' }
  /** All zeros in the inspected bytes, or a format of ours that never finished. */
  | { readonly kind: 'blank' }
  /** Someone's data: `what` names a known signature, or the first non-zero byte. */
  | { readonly kind: 'data'; readonly what: string };

/** Filesystem and volume signatures inside the inspected bytes: name, offset, bytes. */
const SIGNATURES: readonly (readonly [string, number, readonly number[]])[] = [
  ['an xfs filesystem', 0, ascii('XFSB')],
  ['a LUKS volume', 0, [...ascii('LUKS'), 0xba, 0xbe]],
  ['an NTFS filesystem', 3, ascii('NTFS    ')],
  ['a FAT filesystem', 0x36, ascii('FAT')],
  ['a FAT32 filesystem', 0x52, ascii('FAT32')],
  ['a GPT partition table', 512, ascii('EFI PART')],
  ['an f2fs filesystem', 0x400, [0x10, 0x20, 0xf5, 0xf2]],
  ['an ext2/3/4 filesystem', 0x438, [0x53, 0xef]],
  ['a swap area', 4086, ascii('SWAPSPACE2')],
  ['an ISO 9660 image', 0x8001, ascii('CD001')],
  ['a btrfs filesystem', 0x10040, ascii('_BHRfS_M')],
  ['an MBR partition table', 510, [0x55, 0xaa]],
];

/**
 * Pool, blank, or someone's data? Reads the superblocks and the first 1 MiB (poison there throws `EIO`:
 * unreadable media are not known to be blank).
 */
export function inspectMedia(device: DaxDevice, path: string): MediaContent {
  if (hasPool(device)) return { kind: 'pool' };
  const head = readMeta(device, path, 0, Math.min(device.size, INSPECT_BYTES), 'first bytes');
  if (startsWith(head, 0, ascii(FORMAT_MARKER))) return { kind: 'blank' };
  const known = SIGNATURES.find(([, at, signature]) => startsWith(head, at, signature));
  if (known !== undefined) return { kind: 'data', what: known[0] };
  const first = head.findIndex((b) => b !== 0);
  return first < 0 ? { kind: 'blank' } : { kind: 'data', what: `non-zero bytes (the first at offset ${first})` };
}

/**
 * Write an empty pool on `device`: zero the journal (records of an earlier pool must not replay),
 * write the first checkpoint, then the backup superblock and last the primary, so a valid primary
 * means a complete pool.
 */
export function formatPool(device: DaxDevice, path: string, opts: FormatOptions): void {
  const blocks = Math.min(Math.floor(device.size / BLOCK), BLOCKS_MAX);
  if (blocks * BLOCK < MIN_POOL_BYTES) {
    throw new PmemdaxError('ERR_PMEMDAX_SIZE', `a pool needs at least ${MIN_POOL_BYTES} bytes; '${path}' has ${device.size}`, { path });
  }
  const journalBlocks = opts.journalBytes === undefined ? defaultJournalBlocks(blocks) : Math.ceil(opts.journalBytes / BLOCK);
  const bitmapBlocks = bitmapCopyBlocks(blocks);
  if (!(journalBlocks >= 16) || 1 + journalBlocks + 2 * bitmapBlocks + 8 > blocks) {
    throw new PmemdaxError('ERR_PMEMDAX_SIZE', `journal of ${journalBlocks} blocks does not fit a pool of ${blocks} blocks (it needs 16 or more)`, { path });
  }
  const sb: Superblock = {
    uuid: new Uint8Array(randomBytes(16)),
    blocks,
    journalStart: 1,
    journalBlocks,
    seq: 0,
    epoch: 1,
    bitmapAt: [1 + journalBlocks, 1 + journalBlocks + bitmapBlocks],
    bitmapBlocks,
    roots: { names: NO_BLOCK, inodes: NO_BLOCK, extents: NO_BLOCK, shared: NO_BLOCK },
    treePages: 0,
    inodeCount: 0,
    sharedCount: 0,
    nextIno: 1,
    metaBytes: 0,
    orphans: 0,
    deferredBlocks: 0,
    dirty: false,
    shutdownCount: -1,
    identity: '',
  };
  markFormatting(device, blocks);
  const total = journalBlocks * BLOCK;
  for (let done = 0; done < total; done += ZERO_CHUNK) {
    device.fill(BLOCK + done, 0, Math.min(ZERO_CHUNK, total - done));
    opts.progress?.(Math.min(done + ZERO_CHUNK, total), total);
  }
  const state = new PoolState(sb, path, device);
  state.alloc.markUsed(0, dataStart(sb));
  state.alloc.markUsed(sb.bitmapAt[0], 2 * bitmapBlocks);
  state.alloc.markUsed(blocks - 1, 1);
  state.alloc.recount();
  // Empty trees: the checkpoint is the bitmap alone.
  const first = writeCheckpoint(device, state, sb, sb.epoch, true);
  finishCheckpoint(state);
  const bytes = encodeSuperblock({ ...first, seq: 1 });
  device.copy((blocks - 1) * BLOCK, bytes);
  device.copy(0, bytes);
}

/**
 * The marker replaces the primary superblock, then the last block of the device (where a backup would be
 * looked for) is cleared: from here a crash leaves media that read as an unfinished format, never as the
 * pool that was there before with some of its blocks overwritten.
 */
function markFormatting(device: DaxDevice, blocks: number): void {
  const marker = new Uint8Array(BLOCK);
  marker.set(ascii(FORMAT_MARKER));
  device.copy(0, marker);
  device.fill((blocks - 1) * BLOCK, 0, BLOCK);
  const deviceLast = (Math.floor(device.size / BLOCK) - 1) * BLOCK;
  if (deviceLast !== (blocks - 1) * BLOCK) device.fill(deviceLast, 0, BLOCK);
}
