#!/usr/bin/env bash
# unit-file.sh UNIT PONED: systemd's own check of the unit, with ExecStart
# pointed at the poned just built. Any complaint fails the test.
set -euo pipefail
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/sbin/poned|$2|" "$1" >"$dir/poned.service"
out=$(cd "$dir" && systemd-analyze verify --man=no ./poned.service 2>&1)
[ -z "$out" ] || { echo "$out"; exit 1; }
grep -q '^Type=notify' "$dir/poned.service"
