#!/usr/bin/env bash
# install.sh: `meson install` of this build, into a scratch DESTDIR, puts
# every file an operator needs where meson says, and the files that name
# other installed files name them where they are installed. meson.build
# gives the paths: MESON, SOURCE_ROOT, BUILD_ROOT, VERSION, BINDIR,
# SBINDIR, SYSCONFDIR, PKGDATADIR, DOCDIR, MANDIR, UNITDIR, DKMSDIR,
# UDEVRULESDIR, MODULESLOADDIR. The man pages are rendered with man, else
# groff, where there is one; the udev rule is checked with udevadm verify
# where udevadm has it (systemd 254 and later).
set -euo pipefail
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() {
	echo "install: $*" >&2
	exit 1
}

# meson test has built what is installed: no ninja runs in the build
# directory from inside one of its tests.
"$MESON" install -C "$BUILD_ROOT" --no-rebuild --destdir "$dest" --quiet

unit=$UNITDIR/poned.service
hook=$PKGDATADIR/libvirt-qemu-hook
config=$SYSCONFDIR/pone/poned.conf
pages=("$MANDIR/man8/poned.8" "$MANDIR/man8/pone-ctl.8"
       "$MANDIR/man5/poned.conf.5" "$MANDIR/man4/pone.4")
# pone.ko's sources for DKMS, self-contained
dkms=$DKMSDIR/pone-$VERSION
kmod=("$dkms/pone.c" "$dkms/Kbuild" "$dkms/Makefile"
      "$dkms/include/pone/uapi.h")
rule=$UDEVRULESDIR/60-pone.rules
expected=("$SBINDIR/poned" "$BINDIR/pone-ctl" "$unit" "$hook" "$config"
	  "$DOCDIR/README.md" "$DOCDIR/dsa/README.md"
	  "$DOCDIR/kernel/README.md" "${pages[@]}" "${kmod[@]}"
	  "$dkms/dkms.conf" "$rule" "$MODULESLOADDIR/pone.conf")
diff <(printf '%s\n' "${expected[@]}" | sort) \
	<(cd "$dest" && find . ! -type d | sed 's|^\.||' | sort) ||
	fail "the files installed (>) are not those expected (<)"

for f in "$SBINDIR/poned" "$BINDIR/pone-ctl" "$hook"; do
	[ -x "$dest$f" ] || fail "$f is not executable"
done
[ "$("$dest$SBINDIR/poned" --version)" = "poned $VERSION" ] ||
	fail "$SBINDIR/poned --version does not say poned $VERSION"
"$dest$BINDIR/pone-ctl" --help >/dev/null

# Nothing left for meson to fill in, in what it made.
if grep -n '@[a-z]*@' "$dest$unit" "$dest$hook" "${pages[@]/#/$dest}" \
	"$dest$dkms/dkms.conf"; then
	fail "placeholders left above"
fi

grep -qxF "ExecStart=$SBINDIR/poned --config $config --foreground" \
	"$dest$unit" || fail "$unit does not start $SBINDIR/poned on $config"
for doc in $(sed -n 's/^Documentation=//p' "$dest$unit"); do
	case $doc in
	file://*) [ -f "$dest${doc#file://}" ] || fail "$unit names $doc" ;;
	man:*) page=${doc#man:} name=${page%(*} section=${page#*(}
		[ -f "$dest$MANDIR/man${section%)}/$name.${section%)}" ] ||
			fail "$unit names $doc" ;;
	esac
done

grep -qxF "ctl=\${PONE_CTL:-$BINDIR/pone-ctl}" "$dest$hook" ||
	fail "$hook does not call $BINDIR/pone-ctl"
sh -n "$dest$hook"

cmp "$SOURCE_ROOT/config/poned.conf" "$dest$config"
for doc in README.md dsa/README.md kernel/README.md; do
	cmp "$SOURCE_ROOT/$doc" "$dest$DOCDIR/$doc"
done

grep -qF "$config" "$dest$MANDIR/man8/poned.8" ||
	fail "poned(8) does not name $config"
for page in "${pages[@]}"; do
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$dest$page" 2>&1 >/dev/null)
	elif command -v groff >/dev/null; then
		out=$(groff -man -ww -z "$dest$page" 2>&1)
	else
		echo "install: neither man nor groff: $page not rendered"
		continue
	fi
	[ -z "$out" ] || fail "$page: $out"
done

for f in pone.c Kbuild Makefile; do
	cmp "$SOURCE_ROOT/kernel/$f" "$dest$dkms/$f"
done
cmp "$SOURCE_ROOT/include/pone/uapi.h" "$dest$dkms/include/pone/uapi.h"
grep -qx "PACKAGE_VERSION=\"$VERSION\"" "$dest$dkms/dkms.conf" ||
	fail "$dkms/dkms.conf does not say PACKAGE_VERSION=\"$VERSION\""
bash -n "$dest$dkms/dkms.conf"

# The rule gives /dev/pone to group kvm, 0660; udevadm verify (systemd
# 254) checks its syntax, where there is one that has it.
grep -qE '^KERNEL=="pone",.*GROUP="kvm", MODE="0660"$' "$dest$rule" ||
	fail "$rule does not give /dev/pone to kvm, 0660"
if command -v udevadm >/dev/null && udevadm verify --help >/dev/null 2>&1
then
	udevadm verify "$dest$rule"
else
	echo "install: no udevadm verify here: $rule not verified"
fi
[ "$(grep -v '^#' "$dest$MODULESLOADDIR/pone.conf")" = pone ] ||
	fail "$MODULESLOADDIR/pone.conf does not load pone"
