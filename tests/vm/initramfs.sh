#!/usr/bin/env bash
# initramfs.sh OUT.cpio.gz INIT [FILE[=PATH-IN-IMAGE]]...
# Packs busybox-static (with its applets linked in /bin), INIT as /init and
# the given files (by default into /bin) into a gzipped newc cpio archive.
set -euo pipefail
out=$(realpath -m "$1")
init=$2
shift 2
mkdir -p "$(dirname "$out")"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
install -m 755 "$init" "$root/init"
for f in "$@"; do
	src=${f%%=*}
	dst=/bin/$(basename "$src")
	[ "$f" != "$src" ] && dst=${f#*=}
	mkdir -p "$root/$(dirname "$dst")"
	cp "$src" "$root/$dst"
done
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out"
