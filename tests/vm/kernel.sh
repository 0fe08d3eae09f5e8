#!/usr/bin/env bash
# kernel.sh CACHE-DIR: prints the path of Debian's vmlinuz for the release
# of the installed linux-headers-amd64, fetched into CACHE-DIR with
# apt-get download and dpkg -x (installing linux-image-amd64 would run the
# initramfs hooks for minutes, and is not needed to boot a VM).
set -euo pipefail
cache=$1
release=$("$(dirname "$0")/release.sh")
vmlinuz=$cache/$release/boot/vmlinuz-$release
if [ ! -f "$vmlinuz" ]; then
	version=$(dpkg-query -W -f='${Version}' "linux-headers-$release")
	pkg=linux-image-$release
	mkdir -p "$cache"
	# apt's _apt user may not write here; the download is fine without it.
	(cd "$cache" && { apt-get download -q "$pkg=$version" ||
		{ apt-get update -q && apt-get download -q "$pkg=$version"; }; }) >&2
	dpkg -x "$cache/${pkg}_${version//:/%3a}_amd64.deb" "$cache/$release"
	rm -f "$cache/${pkg}_${version//:/%3a}_amd64.deb"
fi
echo "$vmlinuz"
