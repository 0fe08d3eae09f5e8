#!/usr/bin/env bash
# daemon.sh [-i INIT] [-t SECONDS] [-b] [-f FILE=PATH]... SOURCE-ROOT WORK-DIR
#           PONED PONE-CTL TESTGUEST [PROGRAM...]
# poned and pone.ko together in Debian's kernel under QEMU, with INIT as
# the VM's /init (daemon-init.sh, the end-to-end test, unless told), -b
# passed on to boot.sh, and each -f FILE put at PATH in the VM. The
# programs are not static (libsystemd has no static library), so the
# shared libraries they use go into the initramfs with them, at the same
# paths. The console goes to WORK-DIR/NAME-console.log,
# NAME being INIT's name less "-init.sh".
set -euo pipefail
here=$(dirname "$(realpath "$0")")
init=$here/daemon-init.sh timeout=560 boot=() files=()
while getopts i:t:bf: opt; do
	case $opt in
	i) init=$(realpath "$OPTARG") ;;
	t) timeout=$OPTARG ;;
	b) boot+=(-b) ;;
	f) files+=("$OPTARG") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
src=$1 work=$2
shift 2
name=$(basename "$init" -init.sh)
cache=${PONE_VM_CACHE:-$work/cache}
kernel=$(bash "$here/kernel.sh" "$cache")
ko=$(bash "$here/module.sh" "$src" "$work/kmod")
for bin in "$@"; do
	files+=("$(realpath "$bin")")
done
for lib in $(ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
			     $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u); do
	files+=("$lib=$lib")
done
# zram (and its allocator) from the same kernel package: swap for the
# guests whose zero pages are paged out.
release=$(bash "$here/release.sh")
mods=$cache/$release/lib/modules/$release/kernel
for mod in mm/zsmalloc.ko drivers/block/zram/zram.ko; do
	files+=("$mods/$mod=/lib/$(basename "$mod")")
done
bash "$here/initramfs.sh" "$work/pone-$name.cpio.gz" "$init" \
	"$ko=/lib/pone.ko" "$here/vm-lib.sh=/lib/vm-lib.sh" "${files[@]}"
exec bash "$here/boot.sh" -t "$timeout" "${boot[@]}" \
	-l "$work/$name-console.log" "$kernel" "$work/pone-$name.cpio.gz"
