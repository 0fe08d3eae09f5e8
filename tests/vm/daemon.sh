#!/usr/bin/env bash
# daemon.sh [-i INIT] [-t SECONDS] [-m MIB] [-b] [-f FILE=PATH]...
#           SOURCE-ROOT WORK-DIR PONED PONE-CTL TESTGUEST [PROGRAM...]
# poned and pone.ko together in Debian's kernel under QEMU, with INIT as
# the VM's /init (daemon-init.sh, the end-to-end test, unless told), -m
# and -b passed on to boot.sh, and each -f FILE put at PATH in the VM. The
# programs are not static (libsystemd has no static library), so the
# shared libraries they use go into the initramfs with them, at the same
# paths. The console goes to WORK-DIR/NAME-console.log,
# NAME being INIT's name less "-init.sh".
set -euo pipefail
here=$(dirname "$(realpath "$0")")
init=$here/daemon-init.sh timeout=560 boot=() files=()
while getopts i:t:m:bf: opt; do
	case $opt in
	i) init=$(realpath "$OPTARG") ;;
	t) timeout=$OPTARG ;;
	m) boot+=(-m "$OPTARG") ;;
	b) boot+=(-b) ;;
	f) files+=("$OPTARG") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
src=$1 work=$2
shift 2
name=$(basename "$init" -init.sh)
mkdir -p "$work"
cache=${PONE_VM_CACHE:-$work/cache}
kernel=$(bash "$here/kernel.sh" "$cache")
ko=$(bash "$here/module.sh" "$src" "$work/kmod" "$cache")
for bin in "$@"; do
	files+=("$(realpath "$bin")")
done
for lib in $(ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
			     $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u); do
	files+=("$lib=$lib")
done
# zram and the modules it depends on, from the same kernel package: swap
# for the guests whose zero pages are paged out. Each goes in as
# /lib/NAME.ko, uncompressed, and /lib/zram.modules lists them in the
# order to load them (vm-lib.sh's swap_on).
release=$(bash "$here/release.sh" "$cache")
mods=$cache/$release/lib/modules/$release/kernel
mkdir -p "$work/modules"
: >"$work/modules/zram.modules"
add_module() {
	local ko dep
	grep -qx "$1" "$work/modules/zram.modules" && return 0
	ko=$(find "$mods" -name "$1.ko" -o -name "$1.ko.xz" | head -1)
	[ -n "$ko" ] || { echo "daemon: no module $1 in $mods" >&2; exit 1; }
	xz -dcf "$ko" >"$work/modules/$1.ko"
	for dep in $(grep -a -o 'depends=[^[:cntrl:]]*' "$work/modules/$1.ko" |
		     cut -d= -f2 | tr , ' '); do
		add_module "$dep"
	done
	echo "$1" >>"$work/modules/zram.modules"
	files+=("$work/modules/$1.ko=/lib/$1.ko")
}
add_module zram
files+=("$work/modules/zram.modules=/lib/zram.modules")
bash "$here/initramfs.sh" "$work/pone-$name.cpio.gz" "$init" \
	"$ko=/lib/pone.ko" "$here/vm-lib.sh=/lib/vm-lib.sh" "${files[@]}"
exec bash "$here/boot.sh" -t "$timeout" "${boot[@]}" \
	-l "$work/$name-console.log" "$kernel" "$work/pone-$name.cpio.gz"
