import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cpuInfo } from '../../lib/index';
import { native } from '../../lib/native';
import { crc32c } from '../../lib/pool/crc32c';
import { PROJECT_ROOT, runNode } from '../support/scratch';

// The metadata checksum (native/crc32c.cpp): the SSE4.2 variant where the CPU has it, tables otherwise
// (PMEMDAX_NO_SSE42, read once when the addon loads, so the other variant runs in a child process).
const lib = `require(${JSON.stringify(`${PROJECT_ROOT}/dist/native.js`)})`;

/** Published CRC-32C check values (the "123456789" check, and iSCSI's 32-byte patterns, RFC 3720 B.4). */
const VECTORS: [string, Uint8Array, number][] = [
  ['empty', new Uint8Array(0), 0],
  ['"123456789"', Buffer.from('123456789'), 0xe3069283],
  ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
  ['32 bytes of 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ['bytes 0 to 31', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ['bytes 31 down to 0', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
];

describe('CRC-32C', () => {
  it.each(VECTORS)('%s gives the published value', (_what, bytes, want) => {
    expect(crc32c(bytes)).toBe(want);
  });

  it('reports the variant: sse4.2 where the CPU has the instruction', () => {
    const info = cpuInfo();
    expect(info.crc32c).toBe(info.sse42 ? 'sse4.2' : 'table');
  });

  it('the table variant (PMEMDAX_NO_SSE42) gives the same value for every length and alignment', () => {
    const data = randomBytes(9000);
    const ranges: [number, number][] = [];
    for (let start = 0; start < 17; start++) for (const len of [0, 1, 7, 8, 9, 15, 16, 63, 64, 65, 4096, 8191]) ranges.push([start, start + len]);
    const r = runNode(`
      const { native } = ${lib};
      const data = Buffer.from(process.argv[1], 'base64');
      const ranges = JSON.parse(process.argv[2]);
      console.log(JSON.stringify({ variant: native.cpuInfo().crc32c, crcs: ranges.map(([s, e]) => native.crc32c(data, s, e)) }));`,
    [data.toString('base64'), JSON.stringify(ranges)], { env: { ...process.env, PMEMDAX_NO_SSE42: '1' } });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { variant: string; crcs: number[] };
    expect(out.variant).toBe('table');
    expect(out.crcs).toEqual(ranges.map(([s, e]) => crc32c(data, s, e)));
    for (const [what, bytes, want] of VECTORS) expect(crc32c(bytes), what).toBe(want);
  });

  it('a range inside a sub-view is of the view: offsets count from its start', () => {
    const whole = randomBytes(300);
    const view = whole.subarray(17, 290);
    expect(crc32c(view, 5, 200)).toBe(crc32c(whole, 22, 217));
  });

  it.each([
    ['a DataView', () => native.crc32c(new DataView(new ArrayBuffer(8)) as unknown as Uint8Array, 0, 8), TypeError],
    ['a Uint16Array', () => native.crc32c(new Uint16Array(4) as unknown as Uint8Array, 0, 8), TypeError],
    ['a string end', () => native.crc32c(new Uint8Array(8), 0, '8' as unknown as number), TypeError],
    ['an end past the bytes', () => native.crc32c(new Uint8Array(8), 0, 9), RangeError],
    ['a start after the end', () => native.crc32c(new Uint8Array(8), 5, 4), RangeError],
    ['a negative start', () => native.crc32c(new Uint8Array(8), -1, 4), RangeError],
    ['a fraction', () => native.crc32c(new Uint8Array(8), 0.5, 4), RangeError],
    ['NaN', () => native.crc32c(new Uint8Array(8), NaN, 4), RangeError],
  ])('refuses %s without reading outside the bytes', (_what, call, kind) => {
    expect(call).toThrow(kind);
  });
});
