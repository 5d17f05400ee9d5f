import { native } from '../native';

/**
 * CRC-32C (Castagnoli) of `bytes[start, end)`, the checksum of every pool metadata structure: native, with
 * the SSE4.2 instruction where the processor has it (native/crc32c.cpp), 0.6 µs a 4 KiB page against 7 µs in
 * JavaScript.
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return native.crc32c(bytes, start, end);
}
