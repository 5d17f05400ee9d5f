#!/bin/sh
# Runs inside the guest (chrooted into an overlay of the host root), from the project root.
# Usage:
#   suite.sh powercut <medium> [verify <medium>]
#                                    [check what the previous power cut left on its medium, then]
#                                    prepare <medium> and run the power-cut workloads until killed
#   suite.sh run [verify <medium>] <medium>...
#                                    [check what the power cut left, then] prepare each medium and
#                                    run the pmem vitest suite on it
#   suite.sh bench [medium]          prepare one medium (ext4-dax by default) and run the comparative
#                                    benchmark (bench/compare/run.mjs --plan guest) on it
#   suite.sh shell [medium]          prepare one medium and start an interactive shell
# Results go to $PMEMDAX_JOB_DIR (the host's writable share): one vitest JSON report per run, or the
# benchmark's results as bench.json.
# The power-cut workloads: the raw-device writer (ext4-dax only) and the pool writer, seeded by
# $PMEMDAX_POOL_WRITER_SEED. Checking a cut reads PMEMDAX_POWERCUT_ACKED (raw writer) and
# PMEMDAX_POWERCUT_POOL_SEED / PMEMDAX_POWERCUT_POOL_ACKED (pool) from the host.
set -u

job=${PMEMDAX_JOB_DIR:?}
mnt=/mnt/pmem
vitest="node node_modules/vitest/vitest.mjs"
status=0
# run_vitest repeats a run whose runner died without a report; not the check of a power cut, which
# changes what it checks (recovery replays the journal and a clean close ends the unsafe shutdown).
rerun_dead_runner=1

say() { echo "PMEMDAX-GUEST $*"; }

# Runs a preparation command; its chatter is shown only when it fails.
quiet() {
  if ! "$@" >/tmp/quiet.out 2>&1; then
    cat /tmp/quiet.out
    echo "failed: $*"
    return 1
  fi
}

teardown() {
  if grep -q " $mnt " /proc/mounts; then umount "$mnt" || return 1; fi
  return 0
}

# Put namespace0.0 back to the mode a filesystem needs (a block device, /dev/pmem0).
fsdax_namespace() {
  [ -b /dev/pmem0 ] && return 0
  quiet ndctl create-namespace -f -e namespace0.0 -m fsdax || return 1
  [ -b /dev/pmem0 ]
}

prepare() {
  medium=$1
  teardown || return 1
  case $medium in
    ext4-dax)
      fsdax_namespace || return 1
      quiet mkfs.ext4 -q -F -b 4096 /dev/pmem0 || return 1
      # A long commit interval: without MAP_SYNC, block allocations made by page faults stay in
      # the running journal transaction, so a power cut loses them.
      mount -o dax,commit=60 /dev/pmem0 "$mnt" || return 1
      export PMEMDAX_PMEM_PATH=$mnt PMEMDAX_PMEM_BLOCKDEV=pmem0
      ;;
    xfs-dax)
      fsdax_namespace || return 1
      quiet mkfs.xfs -q -f -m reflink=0 /dev/pmem0 || return 1
      mount -o dax /dev/pmem0 "$mnt" || return 1
      export PMEMDAX_PMEM_PATH=$mnt PMEMDAX_PMEM_BLOCKDEV=pmem0
      ;;
    devdax-4k|devdax-2m)
      if [ "$medium" = devdax-4k ]; then align=4K; else align=2M; fi
      quiet ndctl create-namespace -f -e namespace0.0 -m devdax --align="$align" || return 1
      [ -c /dev/dax0.0 ] || return 1
      export PMEMDAX_PMEM_PATH=/dev/dax0.0 PMEMDAX_PMEM_BLOCKDEV=
      ;;
    *)
      echo "unknown medium $medium" >&2
      return 1
      ;;
  esac
  export PMEMDAX_PMEM_MEDIUM=$medium
}

# run_vitest <report-name> [vitest args...]
run_vitest() {
  name=$1
  shift
  say "VITEST-START $name"
  # PMEMDAX_VITEST_ARGS holds shell-quoted words from the host.
  eval "set -- \"\$@\" ${PMEMDAX_VITEST_ARGS:-}"
  report="$job/report-$name.json"
  for attempt in 1 2; do
    rm -f "$report"
    # Through a pipe, as on a CI host: the serial console is a tty, and vitest's tty output
    # (cursor control, redrawn lines) makes a poor log.
    { $vitest run --project pmem --reporter=default --reporter=json --outputFile.json="$report" "$@"
      echo $? >/tmp/vitest-rc; } 2>&1 | cat
    rc=$(cat /tmp/vitest-rc)
    # Once, under TCG, vitest's own main process (which loads no addon) died of SIGSEGV after its tests
    # had passed and before it wrote a report. A runner killed by a signal without a report is run once
    # more, whole, and said so; a failing test (any other exit) is never re-run.
    [ "$rerun_dead_runner" -eq 1 ] && [ "$attempt" -eq 1 ] && [ "$rc" -gt 128 ] && [ ! -s "$report" ] || break
    say "RUNNER-DIED $name $rc"
  done
  say "VITEST-END $name $rc"
  [ "$rc" -eq 0 ] || status=1
}

# The pool of a power cut: a file on a filesystem, the whole device on device-dax.
cut_pool() {
  case $1 in
    devdax-*) echo /dev/dax0.0 ;;
    *) echo "$mnt/pool.dat" ;;
  esac
}

# verify_cut <medium>: checks what the last power cut left on <medium>, as it is (no mkfs, no new namespace).
verify_cut() {
  cut=$1
  pool=$(cut_pool "$cut")
  case $cut in
    devdax-*)
      # The namespace's mode is in its info block on the pmem: the device comes back by itself.
      if [ -c /dev/dax0.0 ]; then cut_path=/dev/dax0.0 cut_blockdev=; else cut_path=; fi
      ;;
    *)
      if mount -o dax /dev/pmem0 "$mnt"; then cut_path=$mnt cut_blockdev=pmem0; else cut_path=; fi
      ;;
  esac
  if [ -z "$cut_path" ]; then
    say "PREPARE-FAILED powercut-$cut"
    status=1
    return
  fi
  say "MEDIUM powercut-$cut"
  set -- test/pool/powercut.pmem.test.ts
  [ -n "${PMEMDAX_POWERCUT_ACKED:-}" ] && set -- "$@" test/device/powercut.pmem.test.ts
  # The host's vitest arguments are for the suite: a filter must not leave the cut unchecked.
  PMEMDAX_PMEM_MEDIUM=$cut PMEMDAX_PMEM_PATH=$cut_path PMEMDAX_PMEM_BLOCKDEV=$cut_blockdev PMEMDAX_VITEST_ARGS= \
    PMEMDAX_POWERCUT_FILE="$mnt/powercut.dat" PMEMDAX_POWERCUT_POOL=$pool rerun_dead_runner=0 run_vitest "powercut-$cut" "$@"
  rerun_dead_runner=1
  unset PMEMDAX_POWERCUT_ACKED PMEMDAX_POWERCUT_POOL_SEED PMEMDAX_POWERCUT_POOL_ACKED
  teardown || status=1
}

case ${1:-} in
  powercut)
    medium=$2
    [ "${3:-}" = verify ] && verify_cut "$4"
    prepare "$medium" || { say "PREPARE-FAILED $medium"; exit 1; }
    say "MEDIUM $medium"
    # Both writers run until QEMU is killed; either one stopping is a failure the host sees at once.
    if [ "$medium" = ext4-dax ]; then
      { node test/device/fixtures/powercut-writer.cjs "$mnt/powercut.dat"; say "WRITER-EXITED raw $?"; } &
    fi
    { node test/pool/fixtures/pool-powercut-writer.cjs "$(cut_pool "$medium")" "${PMEMDAX_POOL_WRITER_SEED:?}" 67108864
      say "WRITER-EXITED pool $?"; } &
    wait
    exit 1
    ;;
  run)
    shift
    if [ "${1:-}" = verify ]; then
      verify_cut "$2"
      shift 2
    fi
    for medium in "$@"; do
      if prepare "$medium"; then
        say "MEDIUM $medium"
        run_vitest "$medium"
      else
        say "PREPARE-FAILED $medium"
        status=1
      fi
    done
    teardown
    exit $status
    ;;
  bench)
    medium=${2:-ext4-dax}
    prepare "$medium" || { say "PREPARE-FAILED $medium"; exit 1; }
    say "MEDIUM $medium"
    # PMEMDAX_BENCH_ARGS holds shell-quoted words from the host. dist/ was built by the host (--no-build);
    # the doc is the host's to write (--no-write).
    eval "set -- ${PMEMDAX_BENCH_ARGS:-}"
    node bench/compare/run.mjs --plan guest --no-build --no-write --disk-dir "$mnt" --json "$job/bench.json" "$@"
    status=$?
    teardown
    exit $status
    ;;
  shell)
    medium=${2:-ext4-dax}
    prepare "$medium" || echo "preparing $medium failed"
    echo "pmem guest: $medium is ready at ${PMEMDAX_PMEM_PATH:-?} (PMEMDAX_PMEM_* exported)."
    echo "Suite: node node_modules/vitest/vitest.mjs run --project pmem; other media: sh $0 shell <medium> (nested)"
    # setsid -c gives the shell a controlling terminal, so Ctrl-C reaches its jobs.
    exec setsid -c bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
    ;;
  *)
    echo "usage: suite.sh powercut <medium> [verify <medium>] | run [verify <medium>] <medium>... | bench [medium] | shell [medium]" >&2
    exit 2
    ;;
esac
