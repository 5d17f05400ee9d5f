import { isUtf8 } from 'node:buffer';
import { received } from '../device/validate';
import { argTypeError } from '../errors';
import { poolError } from './errors';
import { NAME_MAX } from './layout';

// ignoreBOM: a name may begin with U+FEFF, and it is part of the name.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What `n` bytes at `at` of `bytes` are as a name, before any decoding: a NUL (none), ASCII, or other (UTF-8 if any). */
const enum Scan {
  NUL,
  ASCII,
  OTHER,
}

function scanName(bytes: Uint8Array, at: number, n: number): Scan {
  let ascii = true;
  for (let i = at; i < at + n; i++) {
    const c = bytes[i] as number;
    if (c === 0) return Scan.NUL;
    if (c >= 0x80) ascii = false;
  }
  return ascii ? Scan.ASCII : Scan.OTHER;
}

/**
 * The name stored as `n` bytes at `at` of `buf` (a checkpoint, a journal record, a tree), or null when the
 * bytes cannot be a name: a NUL, or not UTF-8. ASCII needs no decoder.
 */
export function nameFromBytes(buf: Buffer, at = 0, n = buf.length - at): string | null {
  const scan = scanName(buf, at, n);
  if (scan === Scan.NUL) return null;
  if (scan === Scan.ASCII) return buf.toString('latin1', at, at + n);
  try {
    return utf8.decode(buf.subarray(at, at + n));
  } catch {
    return null;
  }
}

/** Are the `n` bytes at `at` of `bytes` a name `nameFromBytes` accepts? Makes no string. */
export function isNameBytes(bytes: Uint8Array, at: number, n: number): boolean {
  const scan = scanName(bytes, at, n);
  return scan === Scan.ASCII || (scan === Scan.OTHER && isUtf8(bytes.subarray(at, at + n)));
}

/**
 * A file name as the pool stores it: a string of well-formed Unicode, 1..255 bytes of UTF-8, no NUL
 * (`EINVAL`; `ENAMETOOLONG` past 255 bytes). Such a name and its stored bytes map one to one, so the
 * in-memory index, keyed by the string, is keyed by the bytes on the media. (An ill-formed string, a lone
 * surrogate in it, would be stored with U+FFFD in its place: two strings would become one name, and a name
 * would change across a reopen.)
 */
export function checkName(name: unknown, syscall: string, pool: string): string {
  if (typeof name !== 'string') throw argTypeError(`The "name" argument must be of type string. ${received(name)}`);
  if (name.length === 0 || name.includes('\0') || !name.isWellFormed()) throw poolError('EINVAL', syscall, `${pool}:${printable(name)}`);
  // A UTF-16 unit is at most 3 bytes of UTF-8 (a pair of them 4): a short name needs no count.
  if (name.length * 3 > NAME_MAX && Buffer.byteLength(name) > NAME_MAX) throw poolError('ENAMETOOLONG', syscall, `${pool}:${printable(name.slice(0, 32))}…`);
  return name;
}

/** A `list` prefix (or its `after`): the rules of a name, except that it may be empty. */
export function checkPrefix(prefix: unknown, pool: string, what = 'prefix'): string {
  if (typeof prefix !== 'string') throw argTypeError(`The "${what}" option must be of type string. ${received(prefix)}`);
  return prefix === '' ? prefix : checkName(prefix, 'scandir', pool);
}

/** A name for an error message: lone surrogates and NULs shown as escapes, so the message is valid text. */
function printable(name: string): string {
  return name.replace(/[\uD800-\uDFFF\0]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
