'use strict';
// A log record on the media: a 16-byte header, the payload, then zeros up to the next multiple of 8.
//
//   magic u32 | payload length u32 | CRC-32 of the payload u32 | CRC-32 of the first 12 bytes u32
//
// The header has its own checksum so that a reader can tell a real frame from bytes that only look like one,
// and frames start on 8-byte boundaries so that a reader that lost its place can find the next one.

const MAGIC = 0x52444d50; // 'PMDR' little-endian
const HEADER = 16;
const ALIGN = 8;
const MAX_PAYLOAD = 1024 * 1024;

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/** CRC-32 (IEEE), as zlib computes it; written out because zlib.crc32 needs Node 20.15. */
function crc32(bytes, start = 0, end = bytes.length) {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** The whole length of the frame holding `payloadLength` bytes. */
function frameLength(payloadLength) {
  return Math.ceil((HEADER + payloadLength) / ALIGN) * ALIGN;
}

function encodeFrame(payload) {
  if (payload.length === 0 || payload.length > MAX_PAYLOAD) throw new RangeError(`a record is 1 to ${MAX_PAYLOAD} bytes`);
  const frame = Buffer.alloc(frameLength(payload.length));
  frame.writeUInt32LE(MAGIC, 0);
  frame.writeUInt32LE(payload.length, 4);
  frame.writeUInt32LE(crc32(payload), 8);
  frame.writeUInt32LE(crc32(frame, 0, 12), 12);
  payload.copy(frame, HEADER);
  return frame;
}

/** The payload length a 16-byte header announces, or -1 when these bytes are not a header. */
function decodeHeader(header) {
  if (header.readUInt32LE(0) !== MAGIC || header.readUInt32LE(12) !== crc32(header, 0, 12)) return -1;
  const length = header.readUInt32LE(4);
  return length === 0 || length > MAX_PAYLOAD ? -1 : length;
}

function payloadIntact(header, payload) {
  return header.readUInt32LE(8) === crc32(payload);
}

module.exports = { HEADER, ALIGN, MAX_PAYLOAD, encodeFrame, decodeHeader, payloadIntact, frameLength };
