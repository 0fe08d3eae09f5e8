#!/usr/bin/env bash
# module.sh SOURCE-ROOT OUT-DIR: builds kernel/pone.ko against the installed
# linux-headers-amd64 in OUT-DIR (kbuild writes next to its sources, so they
# are copied there) and prints the module's path. Warnings fail the build.
set -euo pipefail
src=$(realpath "$1")
out=$(realpath -m "$2")
release=$("$(dirname "$0")/release.sh")
mkdir -p "$out"
cp "$src/kernel/pone.c" "$src/kernel/Kbuild" "$src/kernel/Makefile" "$out/"
make -s -C "$out" KDIR="/usr/src/linux-headers-$release" \
	PONE_INCLUDE="$src/include" W=1 KCFLAGS=-Werror >&2
echo "$out/pone.ko"
