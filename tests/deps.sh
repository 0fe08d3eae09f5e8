#!/usr/bin/env bash
# Installs what PageONE needs to build and test (Debian 12 packages).
# Does nothing when everything is already there.
set -euo pipefail

packages=(
	meson ninja-build pkg-config gcc libc6-dev
	libxxhash-dev libnuma-dev libcmocka-dev libaccel-config-dev linux-libc-dev
	libjansson-dev libinih-dev libsystemd-dev libvirt-dev libxml2-dev
	# the install test renders the man pages; unit_file verifies the unit
	# and the unit's directory comes from systemd.pc
	groff-base systemd
	# the fuzzers (tests/fuzz): clang with libFuzzer and its sanitizers
	clang-14 libclang-rt-14-dev
	# Debian's kernel booted in QEMU: the vm suite (with pone.ko built
	# against its headers), the e2e qemu test and the demo
	linux-headers-amd64 make qemu-system-x86 busybox-static cpio
	# pahole: BTF of modules for kernels built with it (the 6.12 VM kernel)
	dwarves xz-utils
	# the dkms test: pone.ko's installed sources built by DKMS
	dkms
	# promtool, which checks the metrics poned writes
	prometheus
	# libvirtd with its QEMU driver: poned follows its domains' events
	libvirt-daemon-system
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root (sudo $0) or install them with apt-get" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
