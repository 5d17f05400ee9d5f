#!/bin/sh
# Runs inside the guest (chrooted into an overlay of the host root), from the project root.
# Usage:
#   suite.sh write-powercut          format ext4-dax and run the power-cut writer until killed
#   suite.sh run <medium>...         [verify the power cut, then] prepare each medium and run the
#                                    pmem vitest suite on it
#   suite.sh shell [medium]          prepare one medium and start an interactive shell
# Results go to $PMEMDAX_JOB_DIR (the host's writable share): one vitest JSON report per run.
set -u

job=${PMEMDAX_JOB_DIR:?}
mnt=/mnt/pmem
vitest="node node_modules/vitest/vitest.mjs"
status=0

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
  # Through a pipe, as on a CI host: the serial console is a tty, and vitest's tty output
  # (cursor control, redrawn lines) makes a poor log.
  { $vitest run --project pmem --reporter=default --reporter=json --outputFile.json="$job/report-$name.json" "$@"
    echo $? >/tmp/vitest-rc; } 2>&1 | cat
  rc=$(cat /tmp/vitest-rc)
  say "VITEST-END $name $rc"
  [ "$rc" -eq 0 ] || status=1
}

case ${1:-} in
  write-powercut)
    prepare ext4-dax || { say "PREPARE-FAILED ext4-dax"; exit 1; }
    say "MEDIUM ext4-dax"
    node test/pmem/fixtures/powercut-writer.cjs "$mnt/powercut.dat"
    rc=$?
    say "WRITER-EXITED $rc"
    exit 1
    ;;
  run)
    shift
    if [ -n "${PMEMDAX_POWERCUT_ACKED:-}" ]; then
      # The power-cut writer's boot left an ext4 filesystem on the pmem; mount it as it is.
      if mount -o dax /dev/pmem0 "$mnt"; then
        say "MEDIUM powercut-verify"
        PMEMDAX_PMEM_MEDIUM=ext4-dax PMEMDAX_PMEM_PATH=$mnt PMEMDAX_PMEM_BLOCKDEV=pmem0 \
          PMEMDAX_POWERCUT_FILE="$mnt/powercut.dat" run_vitest powercut test/pmem/powercut.test.ts
      else
        say "PREPARE-FAILED powercut-verify"
        status=1
      fi
      unset PMEMDAX_POWERCUT_ACKED
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
  shell)
    medium=${2:-ext4-dax}
    prepare "$medium" || echo "preparing $medium failed"
    echo "pmem guest: $medium is ready at ${PMEMDAX_PMEM_PATH:-?} (PMEMDAX_PMEM_* exported)."
    echo "Suite: node node_modules/vitest/vitest.mjs run --project pmem; other media: sh $0 shell <medium> (nested)"
    # setsid -c gives the shell a controlling terminal, so Ctrl-C reaches its jobs.
    exec setsid -c bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
    ;;
  *)
    echo "usage: suite.sh write-powercut | run <medium>... | shell [medium]" >&2
    exit 2
    ;;
esac
