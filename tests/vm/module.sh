#!/usr/bin/env bash
# module.sh SOURCE-ROOT OUT-DIR CACHE-DIR: builds kernel/pone.ko in OUT-DIR
# against the headers of the kernel the VM tests boot (release.sh): those
# installed (linux-headers-amd64), else those kernel.sh fetched into
# CACHE-DIR. kbuild writes next to its sources, so they are copied there.
# Prints the module's path. Warnings fail the build.
set -euo pipefail
src=$(realpath "$1")
out=$(realpath -m "$2")
cache=$(realpath -m "$3")
release=$(bash "$(dirname "$0")/release.sh" "$cache")
kdir=/usr/src/linux-headers-$release
[ -d "$kdir" ] || kdir=$cache/$release/usr/src/linux-headers-$release
mkdir -p "$out"
cp "$src/kernel/pone.c" "$src/kernel/Kbuild" "$src/kernel/Makefile" "$out/"
make -s -C "$out" KDIR="$kdir" PONE_INCLUDE="$src/include" W=1 \
	KCFLAGS=-Werror >&2
echo "$out/pone.ko"
