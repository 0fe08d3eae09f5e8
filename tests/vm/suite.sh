#!/usr/bin/env bash
# suite.sh SOURCE-ROOT WORK-DIR TEST-BINARY...: the 'vm' suite. Fetches
# Debian's kernel (cached in $PONE_VM_CACHE, else WORK-DIR/cache), builds
# pone.ko against its headers, packs it with the static test binaries into
# an initramfs, and boots it; the console goes to WORK-DIR/console.log.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
src=$1 work=$2
shift 2
mkdir -p "$work"
cache=${PONE_VM_CACHE:-$work/cache}
kernel=$(bash "$here/kernel.sh" "$cache")
ko=$(bash "$here/module.sh" "$src" "$work/kmod" "$cache")
# The loop driver (no dependencies) from the same kernel package: O_DIRECT
# reads from a block device into a region.
release=$(bash "$here/release.sh" "$cache")
loop=$(find "$cache/$release/lib/modules/$release/kernel/drivers/block" \
	-name loop.ko -o -name loop.ko.xz | head -1)
[ -n "$loop" ] || { echo "suite: no loop module for $release" >&2; exit 1; }
xz -dcf "$loop" >"$work/loop.ko"
bash "$here/initramfs.sh" "$work/pone-vm.cpio.gz" "$here/pone-init.sh" \
	"$ko=/lib/pone.ko" "$here/vm-lib.sh=/lib/vm-lib.sh" \
	"$work/loop.ko=/lib/loop.ko" "$@"
exec bash "$here/boot.sh" -t 840 -l "$work/console.log" \
	"$kernel" "$work/pone-vm.cpio.gz"
