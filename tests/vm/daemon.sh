#!/usr/bin/env bash
# daemon.sh SOURCE-ROOT WORK-DIR PONED PONE-CTL TESTGUEST: poned and
# pone.ko together in Debian's kernel under QEMU. The programs are not
# static (libsystemd has no static library), so the shared libraries they
# use go into the initramfs with them, at the same paths.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
src=$1 work=$2
shift 2
cache=${PONE_VM_CACHE:-$work/cache}
kernel=$(bash "$here/kernel.sh" "$cache")
ko=$(bash "$here/module.sh" "$src" "$work/kmod")
files=()
for bin in "$@"; do
	files+=("$(realpath "$bin")")
done
for lib in $(ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
			     $1 ~ /^\// { print $1 }' | sort -u); do
	files+=("$lib=$lib")
done
bash "$here/initramfs.sh" "$work/pone-daemon.cpio.gz" \
	"$here/daemon-init.sh" "$ko=/lib/pone.ko" "${files[@]}"
exec bash "$here/boot.sh" -t 560 -l "$work/daemon-console.log" \
	"$kernel" "$work/pone-daemon.cpio.gz"
