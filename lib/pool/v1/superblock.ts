import { Codec } from '../codec';
import {
  BLOCK,
  VersionMismatch,
  checkHeaderGeometry,
  dataEnd,
  dataStart,
  decodeShutdownFields,
  decodeSuperblockHeader,
  type ShutdownFields,
  type SuperblockHeader,
} from '../layout';

/** The superblock of format version 1 (docs/format.md of pmemdax before format 2): the checkpoint is one image in runs of blocks. */
export const V1_FORMAT_VERSION = 1;
/** The checkpoint's runs are listed from this superblock offset, at most RUNS_MAX of them. */
const RUNS_AT = 512;
const RUNS_MAX = 440;

/** Version 2's header and unsafe-shutdown fields (layout.ts), with the checkpoint image between them. */
export interface V1Superblock extends SuperblockHeader, ShutdownFields {
  /** The checkpoint image's blocks: [start, count] pairs, in image order. */
  ckptRuns: number[];
  ckptBytes: number;
  ckptCrc: number;
}

export function v1CheckpointBlocks(sb: V1Superblock): number {
  let n = 0;
  for (let i = 1; i < sb.ckptRuns.length; i += 2) n += sb.ckptRuns[i] as number;
  return n;
}

/** A version-1 superblock in `bytes`, the version it has if it is a pool of another version, or the reason it is not one. */
export function decodeV1Superblock(bytes: Uint8Array): V1Superblock | VersionMismatch | string {
  const c = new Codec(bytes);
  const header = decodeSuperblockHeader(c, V1_FORMAT_VERSION);
  if (typeof header === 'string' || header instanceof VersionMismatch) return header;
  const runs = c.u32();
  const total = c.u32();
  const ckptBytes = c.u64();
  const ckptCrc = c.u32();
  const shutdown = decodeShutdownFields(c);
  if (typeof shutdown === 'string') return shutdown;
  const sb: V1Superblock = { ...header, ckptRuns: [], ckptBytes, ckptCrc, ...shutdown };
  if (runs < 1 || runs > RUNS_MAX) return `${runs} checkpoint runs`;
  c.pos = RUNS_AT;
  for (let i = 0; i < 2 * runs; i++) sb.ckptRuns.push(c.u32());
  if (v1CheckpointBlocks(sb) !== total) return 'checkpoint block count does not match its runs';
  return checkGeometry(sb) ?? sb;
}

function checkGeometry(sb: V1Superblock): string | null {
  const common = checkHeaderGeometry(sb);
  if (common !== null) return common;
  for (let i = 0; i < sb.ckptRuns.length; i += 2) {
    const start = sb.ckptRuns[i] as number;
    const n = sb.ckptRuns[i + 1] as number;
    if (start < dataStart(sb) || n < 1 || start + n > dataEnd(sb)) return 'checkpoint outside the data area';
  }
  if (sb.ckptBytes < 64 || sb.ckptBytes > v1CheckpointBlocks(sb) * BLOCK) return 'checkpoint length does not fit its blocks';
  return null;
}
