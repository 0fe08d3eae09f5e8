#!/usr/bin/env bash
# kernel.sh CACHE-DIR: prints the path of the vmlinuz of the kernel the VM
# tests boot (release.sh: PONE_VM_KERNEL), fetched into CACHE-DIR/RELEASE
# with apt-get download and dpkg -x (installing linux-image-amd64 would run
# the initramfs hooks for minutes, and is not needed to boot a VM). The
# backports kernel comes with its headers (the -amd64, -common and kbuild
# packages) in the same tree, for module.sh.
set -euo pipefail
here=$(dirname "$0")
cache=$(realpath -m "$1")
release=$(bash "$here/release.sh" "$cache")
root=$cache/$release
vmlinuz=$root/boot/vmlinuz-$release
[ -f "$vmlinuz" ] && { echo "$vmlinuz"; exit 0; }
mkdir -p "$cache"
if [ "${PONE_VM_KERNEL:-6.1}" = 6.1 ]; then
	apt=()
	version=$(dpkg-query -W -f='${Version}' "linux-headers-$release")
	pkgs=("linux-image-$release=$version")
else
	. "$here/backports-apt.sh" "$cache"
	base=${release%-amd64}
	pkgs=("linux-image-$release-unsigned" "linux-headers-$release"
		"linux-headers-$base-common" "linux-kbuild-$base")
fi
dl=$(mktemp -d "$cache/download.XXXXXX")
# apt's _apt user may not write here; the download is fine without it.
(cd "$dl" && { apt-get "${apt[@]}" download -q "${pkgs[@]}" ||
	{ apt-get "${apt[@]}" update -q &&
	  apt-get "${apt[@]}" download -q "${pkgs[@]}"; }; }) >&2
for deb in "$dl"/*.deb; do
	dpkg -x "$deb" "$root"
done
rm -rf "$dl"
# The headers' Makefile includes the -common tree by its absolute path.
for mk in "$root"/usr/src/linux-headers-*-amd64/Makefile; do
	[ -f "$mk" ] && sed -i "s,^include /usr/src/,include $root/usr/src/," "$mk"
done
echo "$vmlinuz"
