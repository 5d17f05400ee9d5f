import type { Pool } from '../../../lib';
import { BLOCK, type Model, type ModelInode } from './model';

/** Thrown when what a crash left breaks a promise the model holds the pool to. */
export class CrashDivergence extends Error {
  override readonly name = 'CrashDivergence';
}

/** Why `bytes` (read back, `size` long) cannot be `m` after a crash, or null when it can be. */
export function contentProblem(m: ModelInode, size: number, bytes: Uint8Array): string | null {
  if (!m.sizes.has(size)) return `size ${size}, expected one of ${[...m.sizes].sort((a, b) => a - b).join(', ')}`;
  const dur = m.dur;
  for (let at = 0; at < size; at += BLOCK) {
    const end = Math.min(size, at + BLOCK);
    const durable = dur.length >= end ? dur.subarray(at, end) : padded(dur, at, end);
    if (Buffer.compare(bytes.subarray(at, end), durable) === 0) continue;
    for (let i = at; i < end; i++) {
      const v = bytes[i];
      if (v === (dur[i] ?? 0)) continue;
      if (!m.pending.some((s) => i >= s.off && i < s.off + s.data.length && s.data[i - s.off] === v)) {
        return `byte ${i} is ${v}: durable value ${dur[i] ?? 0}, and no write in flight or unsynced put it there`;
      }
    }
  }
  return null;
}

function padded(dur: Uint8Array, at: number, end: number): Uint8Array {
  const out = new Uint8Array(end - at);
  if (at < dur.length) out.set(dur.subarray(at, Math.min(end, dur.length)));
  return out;
}

interface Found {
  readonly name: string;
  readonly ino: number;
  readonly size: number;
  readonly bytes: Uint8Array;
}

function readAll(pool: Pool, name: string): Found {
  const f = pool.open(name, { readonly: true });
  try {
    const size = f.size;
    const bytes = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = f.readSync(bytes.subarray(done), done);
      if (n <= 0) throw new CrashDivergence(`${name}: read returned ${n} at ${done} of ${size}`);
      done += n;
    }
    return { name, ino: f.ino, size, bytes };
  } finally {
    f.close();
  }
}

/**
 * verifyAgainstModel -- the pool `pool` (opened on a crash image) must pass `check`, and every name
 * must hold one of the files the model allows there: absent only if that is allowed, otherwise a file
 * whose inode, size and every byte the model accepts. Each file whose link is durable must be found
 * under exactly one name, and files unlinked while open must have been freed (unless `reRecovered`: an
 * earlier, interrupted recovery may have freed them).
 */
export function verifyAgainstModel(pool: Pool, model: Model, context: string, opts: { reRecovered?: boolean } = {}): void {
  const fail = (msg: string): never => {
    throw new CrashDivergence(`${context}: ${msg}`);
  };
  const report = pool.check();
  if (!report.ok) fail(`check found ${report.problems.length} problem(s): ${report.problems.slice(0, 5).map((p) => `${p.what} @ ${p.where}: ${p.message}`).join('; ')}`);
  const listed = [...pool.list()];
  const names = new Set([...listed, ...model.candidates.keys()]);
  const foundInode = new Map<ModelInode, string>();
  const inos = new Map<number, string>();
  for (const name of names) {
    const cands = model.candidates.get(name) ?? new Set([null]);
    if (!listed.includes(name)) {
      if (!cands.has(null)) fail(`${JSON.stringify(name)} is missing; it must hold inode ${[...cands].map((m) => m?.ino).join(' or ')}`);
      continue;
    }
    const f = readAll(pool, name);
    const seen = inos.get(f.ino);
    if (seen !== undefined) fail(`inode ${f.ino} is under both ${JSON.stringify(seen)} and ${JSON.stringify(name)}`);
    inos.set(f.ino, name);
    const why: string[] = [];
    let match: ModelInode | null = null;
    for (const m of cands) {
      if (m === null) continue;
      if (m.ino >= 0 && m.ino !== f.ino) {
        why.push(`not inode ${m.ino}`);
        continue;
      }
      const problem = contentProblem(m, f.size, f.bytes);
      if (problem === null) {
        match = m;
        break;
      }
      why.push(`as inode ${m.ino}: ${problem}`);
    }
    if (match === null) fail(`${JSON.stringify(name)} (inode ${f.ino}, ${f.size} bytes) is no file the model allows: ${why.join('; ') || 'it must not exist'}`);
    else foundInode.set(match, name);
  }
  for (const m of model.inodes) {
    if (m.required && m.linked && !foundInode.has(m)) fail(`inode ${m.ino} (durably linked) is under no name`);
  }
  // A recovery that crashed may have freed the orphans already; and an orphan whose last close (or
  // the pool's close) is in flight may be gone.
  if (opts.reRecovered === true) return;
  const op = model.inFlight;
  const closing = op?.k === 'remount' ? null : op?.k === 'close' ? model.handle(op.h).inode : undefined;
  const durableOrphans = closing === null ? [] : [...model.orphans].filter((m) => m.ino >= 0 && m !== closing);
  if (pool.info.recovery.orphansFreed < durableOrphans.length) {
    fail(`inode(s) ${durableOrphans.map((m) => m.ino).join(', ')} were unlinked while open, but opening freed ${pool.info.recovery.orphansFreed}`);
  }
}
