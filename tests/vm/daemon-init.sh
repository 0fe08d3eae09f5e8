#!/bin/sh
# /init of the daemon VM: poned attaches a guest-like process whose RAM is
# a /dev/pone region full of zero and duplicate pages; the module's frames
# must fall to the number of distinct non-zero pages, and every page must
# still read as it was written. Says VM-RESULT: PASS or FAIL.
. /lib/vm-lib.sh

# A number out of the last status: the first "KEY":N.
status() {
	ctl status --json >/tmp/status.json
}
field() {
	grep -o "\"$1\":[0-9]*" /tmp/status.json | head -1 | cut -d: -f2
}

finish() {
	kill "$poned" 2>/dev/null
	[ "$fail" = 0 ] && echo "VM-RESULT: PASS" || echo "VM-RESULT: FAIL"
	poweroff -f
}

check insmod /lib/pone.ko
start_poned 2 debug

mkfifo /tmp/guest.in
pone-testguest -m 16M --pone --zero 25 --dup 50 </tmp/guest.in >/tmp/guest.out &
guest=$!
exec 3>/tmp/guest.in
say() {
	echo "$1" >&3
	# Replies come a line each; wait for this one.
	n=$(($(wc -l </tmp/guest.out) + 1))
	i=0
	while [ "$(wc -l </tmp/guest.out)" -lt "$n" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	tail -n 1 /tmp/guest.out
}
i=0
until grep -q ready /tmp/guest.out || [ $i -ge 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
distinct=$(say distinct | cut -d' ' -f2)
echo "vm: the guest holds $distinct distinct non-zero pages"
check ctl attach --pid "$guest" --name vm-guest

# Module's distinct frames: offsets with a frame, less those merged away.
frames=
i=0
start=$(date +%s)
while [ $(($(date +%s) - start)) -lt 150 ]; do
	status
	frames=$(($(field frames) - $(field pone_frames_saved)))
	[ "$frames" -le "$distinct" ] && break
	sleep 2
done
echo "vm: pone.ko holds $frames frames after $(($(date +%s) - start)) s"
check test "$frames" -eq "$distinct"
cat /tmp/status.json
check test "$(field merges)" -gt 0
check test "$(field discards)" -gt 0
ctl status
check test "$(say verify)" = "ok 4096"
# A page written after the merge gets a frame of its own again.
check test "$(say 'free 10')" = freed
check test "$(say verify)" = "ok 4096"
echo quit >&3
wait "$guest"
# The guest is gone, and its frames with it.
sleep 1
status
check test "$(field frames)" = ""
kill "$poned"
wait "$poned"
grep -E 'error|warning|merge pass' /tmp/poned.log
check rmmod pone
finish
