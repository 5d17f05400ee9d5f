// After the power cut: the writer of fixtures/powercut-writer.cjs ran on ext4-dax until the host killed
// QEMU. The host passes the last sequence number it saw acknowledged; this boot mounts what the cut left.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Device } from '../../lib/index';

interface PowercutFormat {
  readonly RECORD: number;
  readonly FILE_SIZE: number;
  record(seq: number): Buffer;
}

const format = createRequire(__filename)('./fixtures/powercut-format.cjs') as PowercutFormat;
const ackedEnv = process.env.PMEMDAX_POWERCUT_ACKED;
const file = process.env.PMEMDAX_POWERCUT_FILE;

describe.skipIf(ackedEnv === undefined || file === undefined)('power cut on ext4-dax', () => {
  const acked = Number(ackedEnv);

  it('every acknowledged record is intact; past them at most the record in flight, then nothing', () => {
    if (file === undefined) return;
    // Without MAP_SYNC the file's creation and block allocations may still be in the journal.
    expect(existsSync(file), `${file} is gone after the power cut`).toBe(true);
    const d = Device.open(file, { readonly: true });
    try {
      expect(d.size).toBe(format.FILE_SIZE);
      const records = d.size / format.RECORD;
      const at = (seq: number): Buffer => Buffer.from(d.readSafe(seq * format.RECORD, format.RECORD));
      let intact = 0;
      while (intact < records && at(intact).equals(format.record(intact))) intact++;
      console.log(`power cut: records 0..${acked} acknowledged, ${intact} intact`);
      expect(intact, `record ${intact} of ${acked + 1} acknowledged is damaged or missing`).toBeGreaterThan(acked);
      // Record `intact` may be the torn one in flight; everything after it was never written.
      for (let seq = intact + 1; seq < Math.min(records, intact + 64); seq++) {
        expect(at(seq).every((b) => b === 0), `record ${seq} after the cut is not empty`).toBe(true);
      }
    } finally {
      d.close();
    }
  });
});
