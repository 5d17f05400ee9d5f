#!/bin/sh
# Build the busybox initramfs of the pmem test guest.
# Usage: build-initramfs.sh <kernel-version> <output.cpio.gz>
# The guest runs everything else from the host's root (shared over 9p), so the image only needs
# busybox, the init script and the modules to reach that share and the emulated pmem.
set -eu

kver=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
moddir=/lib/modules/$kver

# busybox-static provides /bin/busybox; a dynamically linked one would need libc in the image.
busybox=/bin/busybox
[ -x "$busybox" ] || busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox not found (install busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
  echo "$busybox is dynamically linked (install busybox-static)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/dev" "$work/proc" "$work/sys" "$work/lib/modules" "$work/hostro" \
  "$work/upper" "$work/newroot"
cp "$busybox" "$work/bin/busybox"

# libnvdimm comes first by hand: ndctl's modprobe hook hides it from --show-depends.
# Order matters: each module's dependencies are listed before it.
mods="virtio_pci 9pnet_virtio 9p overlay libnvdimm nd_btt nd_pmem nd_e820 dax_pmem device_dax ext4 xfs hwpoison_inject"
: >"$work/modules.order"
for m in $mods; do
  deps=$(modprobe -S "$kver" -d / --ignore-install --show-depends "$m" | sed -n 's/^insmod \([^ ]*\).*/\1/p')
  [ -n "$deps" ] || { echo "module $m not found under $moddir" >&2; exit 1; }
  for path in $deps; do
    name=$(basename "$path")
    if ! grep -qx "$name" "$work/modules.order"; then
      cp "$path" "$work/lib/modules/$name"
      echo "$name" >>"$work/modules.order"
    fi
  done
done

cp "$here/init" "$work/init"
chmod 755 "$work/init" "$work/bin/busybox"

mkdir -p "$(dirname "$out")"
(cd "$work" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$out.$$.tmp"
mv "$out.$$.tmp" "$out"
