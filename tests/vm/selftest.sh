#!/usr/bin/env bash
# selftest.sh WORK-DIR: boot.sh must fail a boot whose console shows a
# kernel warning (one printed at the kernel's warning level, as WARN() does)
# even when the payload reports PASS.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
work=$1
mkdir -p "$work"
cache=${PONE_VM_CACHE:-$work/cache}
kernel=$(bash "$here/kernel.sh" "$cache")
bash "$here/initramfs.sh" "$work/selftest.cpio.gz" "$here/selftest-init.sh"
if bash "$here/boot.sh" -t 120 -l "$work/selftest.log" "$kernel" \
	"$work/selftest.cpio.gz" >/dev/null 2>"$work/selftest.err"; then
	echo "selftest: boot.sh passed a boot that logged a WARNING" >&2
	exit 1
fi
grep -q 'kernel report' "$work/selftest.err" || {
	echo "selftest: boot.sh failed for another reason:" >&2
	cat "$work/selftest.err" >&2
	exit 1
}
echo "selftest: boot.sh failed the boot, as it must"
