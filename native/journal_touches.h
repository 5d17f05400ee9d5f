// journal_touches -- what a run of journal records changes, for a reader that takes records in at a refresh
// and applies them only when a call needs what they change (lib/pool/journal.ts, "backlog"): the inodes they
// name and the names they give, found natively so that a refresh costs little more than the checksums.
#pragma once
#include <napi.h>

namespace pmemdax {

// journalTouches(bytes: Uint8Array, base: number, at: number, ends: Float64Array, first: number, n: number,
//                out: Uint32Array) -> number
// The n records starting at journal offset `at`, `bytes` holding the journal from offset `base` on (record k's
// operations end at offset ends[first + 2k] and number ends[first + 2k + 1]; the next record starts at the
// cache line after): out[0] = how many inode numbers follow from
// out[3] on, out[1] = how many name hashes (the top 30 bits of FNV-1a of the name's bytes) fill `out` from
// its end backwards, out[2] = flags (1: a block's reference count changed). Returns 0, or -1 when `out` is
// too small or an operation cannot be read (the caller then treats the records as changing everything).
Napi::Value JournalTouchesJs(const Napi::CallbackInfo& info);

}  // namespace pmemdax
