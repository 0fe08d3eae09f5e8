#!/usr/bin/env bash
# unit-file.sh UNIT PONED CONFIG TYPE BUILT: the unit meson made runs the
# installed poned (PONED) on the installed config (CONFIG), is Type=TYPE,
# and passes systemd's own check with ExecStart pointed at the poned just
# built (BUILT). Any complaint fails the test.
set -euo pipefail
unit=$1 poned=$2 config=$3 type=$4 built=$5
exec_start="ExecStart=$poned --config $config --foreground"
grep -qxF "$exec_start" "$unit" ||
	{ echo "no '$exec_start' in $unit:"; grep '^ExecStart=' "$unit"; exit 1; }
grep -qxF "Type=$type" "$unit" ||
	{ echo "no 'Type=$type' in $unit:"; grep '^Type=' "$unit"; exit 1; }
# A watchdog only where poned can ping it (Type=notify).
if [ "$type" = notify ]; then
	grep -qxF "WatchdogSec=60s" "$unit" ||
		{ echo "no WatchdogSec in $unit"; exit 1; }
elif grep -q '^WatchdogSec=' "$unit"; then
	echo "WatchdogSec in $unit, whose poned cannot ping it"; exit 1
fi
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
awk -v from="$exec_start" -v to="ExecStart=$built --config $config --foreground" \
	'$0 == from { $0 = to } 1' "$unit" >"$dir/poned.service"
out=$(cd "$dir" && systemd-analyze verify --man=no ./poned.service 2>&1)
[ -z "$out" ] || { echo "$out"; exit 1; }
