#!/usr/bin/env bash
# Sets PageONE up (packages, build) and runs the demo:
#   1. the engine scans a demo memory image of known layout and prints what
#      it found (pone-demo; its arguments are this script's);
#   2. the daemon on a real guest: QEMU (TCG) boots Debian's kernel with
#      init_on_free=1 and a workload that fills most of its RAM and frees
#      three quarters of it; poned, started with a config of its own, is
#      attached to QEMU, and the freed memory leaves QEMU's resident memory
#      as the kernel reports it. Needs root (poned acts on another
#      process's memory; a swap file when there is no swap).
# Everything it starts it stops, and what it makes it removes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh
build=build-release
[ -f $build/build.ninja ] ||
	meson setup $build --buildtype=release -Dtests=enabled >/dev/null
ninja --quiet -C $build
$build/tests/pone-demo "$@"
echo

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: the guest part needs root (run it with sudo)" >&2
	exit 1
fi

work=$(mktemp -d /tmp/pone-demo.XXXXXX)
swapfile=
qemu_pid=
poned_pid=
cleanup() {
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
	[ -z "$poned_pid" ] || kill "$poned_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	[ -z "$swapfile" ] || { swapoff "$swapfile" && rm -f "$swapfile"; }
	rm -rf "$work"
}
trap cleanup EXIT

# Recycled zero pages go to swap, where since Linux 6.12 they cost a slot
# and no I/O: without swap, nothing can be recycled.
if [ "$(wc -l </proc/swaps)" -le 1 ]; then
	swapfile=/var/tmp/pone-demo.swap
	echo "no swap on this machine: a 512 MiB swap file for the demo at $swapfile"
	fallocate -l 512M $swapfile
	chmod 600 $swapfile
	mkswap $swapfile >/dev/null
	swapon $swapfile
fi

kernel=$(bash tests/vm/kernel.sh "${PONE_VM_CACHE:-$build/tests/vm/cache}")
bash tests/vm/initramfs.sh "$work/guest.cpio.gz" tests/e2e/guest-init.sh \
	$build/tests/e2e/pone-guestload

# The guest's serial console: commands in through a fifo (held open, so
# QEMU never reads its end), everything out into a file.
mkfifo "$work/console.in"
exec 3<>"$work/console.in"
echo "starting a QEMU guest: 512 MiB of RAM, TCG, Debian's kernel $(basename "$kernel")"
qemu-system-x86_64 -accel tcg -smp 2 -m 512M -display none -serial stdio \
	-monitor none -no-reboot -nic none -kernel "$kernel" \
	-initrd "$work/guest.cpio.gz" \
	-append "console=ttyS0 panic=-1 quiet init_on_free=1" \
	<"$work/console.in" >"$work/console.log" 2>&1 &
qemu_pid=$!

# console_wait PREFIX SECONDS: the guest's first console line with PREFIX.
console_wait() {
	local i
	for ((i = 0; i < $2 * 4; i++)); do
		if grep -a -m1 "^$1" "$work/console.log" | tr -d '\r' | grep .; then
			return 0
		fi
		kill -0 "$qemu_pid" 2>/dev/null || break
		sleep 0.25
	done
	echo "demo: the guest did not say '$1'; its console:" >&2
	cat "$work/console.log" >&2
	return 1
}

# The guest RAM mapping of QEMU (512 MiB, private, anonymous) in smaps.
ram_range=
ram_field() {
	awk -v r="$ram_range" -v k="$1:" '
		$1 == r { inside = 1; next }
		/^[0-9a-f]+-[0-9a-f]+ / { inside = 0 }
		inside && $1 == k { print int($2 / 1024); exit }' \
		"/proc/$qemu_pid/smaps"
}

filled=$(console_wait "guestload: filled" 150)
echo "guest: $filled"
freed=$(console_wait "guestload: freed" 60)
echo "guest: $freed"
freed=${freed##*freed }
while read -r range perms _ _ inode path; do
	if [ "$perms" = rw-p ] && [ "$inode" = 0 ] && [ -z "$path" ] &&
		[ $((16#${range#*-} - 16#${range%-*})) -eq $((512 << 20)) ]; then
		ram_range=$range
	fi
done <"/proc/$qemu_pid/maps"

cat >"$work/poned.conf" <<EOF
[poned]
socket = $work/poned.sock
state_dir = $work/state
threads = 2
reclaim_period = 1
merge_period = 2
# The freed pages share QEMU's huge pages with pages the guest keeps.
thp_split = always
EOF
$build/daemon/poned --config "$work/poned.conf" --foreground \
	>"$work/poned.log" 2>&1 &
poned_pid=$!
ctl() { $build/daemon/pone-ctl --socket "$work/poned.sock" "$@"; }
for ((i = 0; i < 40; i++)); do
	[ -S "$work/poned.sock" ] && break
	sleep 0.25
done

pswpout() { awk '$1 == "pswpout" { print $2 }' /proc/vmstat; }
before=$(ram_field Rss) writes=$(pswpout)
ctl attach --pid "$qemu_pid" --name demo-guest
echo
echo "== pone-ctl status, just attached =="
ctl status
# Recycled until QEMU's guest RAM stops shrinking for three periods.
last=$before steady=0
for ((i = 0; i < 60 && steady < 3; i++)); do
	sleep 1
	now=$(ram_field Rss)
	if [ "$now" -lt "$last" ]; then steady=0; else steady=$((steady + 1)); fi
	last=$now
done
echo
echo "== pone-ctl status, ${i} s later =="
ctl status
after=$(ram_field Rss) swapped=$(ram_field Swap) writes=$(($(pswpout) - writes))
# Saved is what is on swap plus what the page tables map to the shared zero
# page (PAGEMAP_SCAN): some kernels map zero parts of split huge pages
# there, others send every part to swap.
zero_mapped=$(ctl status --json | python3 -c '
import json, sys
g = json.load(sys.stdin)["guests"][0]
print((g["saved_bytes"] - g["swap_bytes"]) >> 20)')
if [ "$zero_mapped" -gt 0 ]; then
	zero_why="splitting QEMU's huge pages for the page-out, this kernel
maps their zero-filled parts to it"
else
	zero_why="this kernel mapped none of the recycled pages there, so
they are all on swap"
fi
cat <<EOF

Where the figures come from: they are the kernel's. RES MiB is the Rss of
QEMU's guest RAM mapping ($ram_range
in /proc/$qemu_pid/smaps), SAVED MiB its Swap and its pages the kernel maps
to the shared zero page (its page tables); RECYCLED counts the pages poned
had the kernel page out (process_madvise MADV_PAGEOUT) once they were zero
for a period.
QEMU's guest RAM resident: $before MiB before, $after MiB after:
$((before - after)) MiB freed (the guest freed $freed).
On swap: $swapped MiB (zero pages there take a swap slot each and no write:
pswpout, the count of pages written to swap, rose by $writes).
On the shared zero page: $zero_mapped MiB ($zero_why).
EOF

echo verify >&3
verify=$(console_wait "guestload: verify" 60)
echo "guest: $verify"
# "verify SUM BAD": the sum it had when it filled them, and no bad page.
if [ "${verify#guestload: verify }" != "${filled##* } 0" ]; then
	echo "demo: the guest's kept data changed" >&2
	exit 1
fi
echo "(the guest re-read the data it kept: the same checksum, no bad page)"
echo quit >&3
for ((i = 0; i < 40; i++)); do
	kill -0 "$qemu_pid" 2>/dev/null || break
	sleep 0.25
done
