// journal_scan -- the run of whole journal records at the start of a piece of the journal, checked in one
// call. An open's replay and a reader's refresh walk thousands of records; one call per record (its header
// read in JavaScript, then a call for its checksum) cost more than the checksums themselves.
#pragma once
#include <napi.h>

namespace pmemdax {

// journalScan(bytes: Uint8Array, at: number, avail: number, epoch: number, seq: number, out: Float64Array)
//   -> number
// From byte `at` of `bytes` (of which the first `avail` are read from the journal), the records of epoch
// `epoch` numbered from `seq` on, each whole (magic, epoch, number, length and CRC-32C, as
// lib/pool/journal.ts writes them), the next starting at the cache line after the last: for record k,
// out[2k] = where its operations end and out[2k + 1] = how many it holds. Stops at the first record that is
// not whole, one that does not lie wholly in the first `avail` bytes, or when `out` is full; returns how
// many it found. The caller decides what a stop means (the end, a torn record, more to read).
Napi::Value JournalScanJs(const Napi::CallbackInfo& info);

}  // namespace pmemdax
