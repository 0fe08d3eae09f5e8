#!/usr/bin/env bash
# dkms.sh: pone.ko's sources as `meson install` puts them (into a scratch
# DESTDIR) build with DKMS as an operator's would, with `dkms add` and
# `dkms build` against the newest kernel headers installed, in a DKMS tree
# of the test's own: the machine's DKMS state is not touched. meson.build
# gives MESON, BUILD_ROOT, VERSION and DKMSDIR. Skipped (77) without dkms
# or kernel headers.
set -euo pipefail
# dkms and modinfo are in sbin, which a user's PATH may leave out.
PATH=$PATH:/usr/sbin:/sbin
skip() {
	echo "dkms: $*"
	exit 77
}
command -v dkms >/dev/null || skip "no dkms (Debian's dkms package)"

# The newest kernel whose headers are installed: Debian's
# linux-headers-RELEASE, or any kernel's /lib/modules/RELEASE/build.
newest=$(for d in /usr/src/linux-headers-*-amd64 /lib/modules/*/build; do
	[ -f "$d/Makefile" ] || continue
	case $d in
	/usr/src/*) release=${d#/usr/src/linux-headers-} ;;
	*) release=${d#/lib/modules/} release=${release%/build} ;;
	esac
	echo "$release $d"
done | sort -V | tail -1)
[ -n "$newest" ] || skip "no kernel headers (linux-headers-amd64)"
release=${newest%% *} kdir=${newest#* }

dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
# meson test has built what is installed: no ninja runs in the build
# directory from inside one of its tests.
"$MESON" install -C "$BUILD_ROOT" --no-rebuild --destdir "$dest/root" --quiet
mkdir "$dest/dkms"
args=(-m pone -v "$VERSION" --dkmstree "$dest/dkms"
      --sourcetree "$dest/root$DKMSDIR")
# Unsigned: DKMS would otherwise make a signing key in /var/lib/dkms.
export sign_file=/nonexistent
dkms add "${args[@]}"
if ! dkms build "${args[@]}" -k "$release" --kernelsourcedir "$kdir" -j 1; then
	cat "$dest/dkms/pone/$VERSION/build/make.log" >&2
	exit 1
fi

# The module, for that kernel (compressed as its own modules are, if so).
ko=$(find "$dest/dkms/pone/$VERSION/$release" -path '*/module/pone.ko*')
[ -n "$ko" ] || {
	echo "dkms: no pone.ko built for $release" >&2
	exit 1
}
vermagic=$(modinfo -F vermagic "$ko")
[ "${vermagic%% *}" = "$release" ] || {
	echo "dkms: $ko is for ${vermagic%% *}, not $release" >&2
	exit 1
}
echo "dkms: built $(basename "$ko") for $release with $kdir"
