#!/usr/bin/env bash
# release.sh CACHE-DIR: prints the kernel release the VM tests boot, as
# PONE_VM_KERNEL names it:
#   6.1 (default)  Debian 12's kernel, that of the installed
#                  linux-headers-amd64 (6.1.0-N-amd64)
#   6.12           Debian 12's bookworm-backports kernel (6.12.N+deb12-amd64),
#                  the newest there, looked up with an apt configuration of
#                  the tests' own in CACHE-DIR/apt (backports-apt.sh)
set -euo pipefail
case ${PONE_VM_KERNEL:-6.1} in
6.1)
	dpkg-query -W -f='${Depends}' linux-headers-amd64 |
		grep -o 'linux-headers-[^ ,]*-amd64' | head -1 |
		sed 's/^linux-headers-//'
	;;
6.12)
	# shellcheck source=backports-apt.sh
	. "$(dirname "$0")/backports-apt.sh" "$1"
	apt-cache "${apt[@]}" show linux-headers-amd64 |
		grep -o 'linux-headers-6\.12\.[^ ,]*+deb12-amd64' | sort -V |
		tail -1 | sed 's/^linux-headers-//'
	;;
*)
	echo "release: PONE_VM_KERNEL=$PONE_VM_KERNEL: expected 6.1 or 6.12" >&2
	exit 2
	;;
esac
