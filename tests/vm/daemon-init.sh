#!/bin/sh
# /init of the daemon VM: poned attaches a guest-like process whose RAM is
# a /dev/pone region full of zero and duplicate pages; the module's frames
# must fall to the number of distinct non-zero pages, and every page must
# still read as it was written. Says VM-RESULT: PASS or FAIL.
. /lib/vm-lib.sh

finish() {
	kill "$poned" 2>/dev/null
	[ "$fail" = 0 ] && echo "VM-RESULT: PASS" || echo "VM-RESULT: FAIL"
	poweroff -f
}

check insmod /lib/pone.ko
# The engine's own test of its workers' placement, here on two nodes (the
# host's run has one).
check test_scan_nodes
start_poned 2 debug

# await WORD OUT: waits (up to 30 s) for a pone-testguest to say WORD.
await() {
	i=0
	until grep -qs "$1" "$2" || [ $i -ge 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
# start_guest GUEST-ARGS...: the guest say talks to, its pid in $guest,
# once it is ready.
start_guest() {
	rm -f /tmp/guest.in /tmp/guest.out
	mkfifo /tmp/guest.in
	pone-testguest "$@" </tmp/guest.in >/tmp/guest.out &
	guest=$!
	exec 3>/tmp/guest.in
	await ready /tmp/guest.out
}
say() {
	# Replies come a line each; wait for this one (counted before it
	# is asked for: the reply may be quicker than wc).
	n=$(($(wc -l </tmp/guest.out) + 1))
	echo "$1" >&3
	i=0
	while [ "$(wc -l </tmp/guest.out)" -lt "$n" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	tail -n 1 /tmp/guest.out
}
start_guest -m 16M --pone --zero 25 --dup 50
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
# Discarded pages are holes (RESIDENT says so): passes no longer read them.
# Nor, pone.ko tracking writes, the rest: merges and discards are not
# writes, and the guest wrote nothing since.
sleep 2
status
check test "$(field absent)" -ge "$(field discards)"
check test "$(field scanned)" -eq 0
check test "$(($(field unwritten) + $(field absent)))" -eq 4096
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
exec 3>&-

# max_page_sharing (256): a guest with some 1200 pages of one content.
# A merge into a full frame makes poned take the page that could not merge
# as the content's canonical page: pone.ko's frames fall to the guest's
# unique pages and ceil(copies / 256) frames of the one content.
start_guest -m 8M --pone --zero 0 --dup 60 --dup-contents 1 --seed 9
# distinct N ZERO SHARED: the unique pages are N - SHARED.
set -- $(say distinct)
unique=$(($2 - $4))
copies=$((2048 - $3 - unique))
want=$((unique + (copies + 255) / 256))
check test "$(cat /sys/module/pone/parameters/max_page_sharing)" = 256
check test "$copies" -gt 1100
check ctl attach --pid "$guest" --name cap-guest
start=$(date +%s)
while [ $(($(date +%s) - start)) -lt 150 ]; do
	frames=$(cat /sys/class/misc/pone/frames)
	[ "$frames" -le "$want" ] && break
	sleep 2
done
echo "vm: $copies copies of one page and $unique unique: $frames frames after $(($(date +%s) - start)) s"
check test "$frames" -eq "$want"
check test "$(say verify)" = "ok 2048"
echo quit >&3
wait "$guest"
exec 3>&-

# Sharing domains: guests of one content (--seed 5) in two domains hold
# frames of their own each; one more in the first's domain holds none the
# first does not.
# frames_at WANT: pone.ko's frames, all regions', once they have fallen to
# WANT (up to 150 s: merges wait out pages' stability periods) and then
# held still 4 s, so that a merge too many shows.
frames_at() {
	i=0
	while [ "$(cat /sys/class/misc/pone/frames)" -gt "$1" ] &&
	      [ $i -lt 150 ]; do
		sleep 1
		i=$((i + 1))
	done
	# What poned and pone.ko say, where the frames did not fall.
	if [ $i -ge 150 ]; then
		ctl status --json >&2
		grep /sys/module/pone/parameters/* /sys/class/misc/pone/* >&2
		tail -n 40 /tmp/poned.log >&2
	fi
	last=-1 same=0 i=0
	while [ $same -lt 4 ] && [ $i -lt 30 ]; do
		sleep 1
		now=$(cat /sys/class/misc/pone/frames)
		[ "$now" = "$last" ] && same=$((same + 1)) || same=0
		last=$now i=$((i + 1))
	done
	echo "$last"
}
# seeded_guest NAME "GUEST-ARGS" [ATTACH-ARGS...]: a guest of 8M, half of
# it one content, attached; its distinct non-zero pages in $distinct.
seeded_guest() {
	name=$1 args=$2
	shift 2
	mkfifo /tmp/"$name".in
	pone-testguest -m 8M --pone --dup 50 $args </tmp/"$name".in \
		>/tmp/"$name".out &
	pid=$!
	# Its commands' FIFO held open until the end: then it reads EOF and
	# quits.
	sleep 3600 >/tmp/"$name".in &
	writers="$writers $!"
	await ready /tmp/"$name".out
	echo distinct >/tmp/"$name".in
	await distinct /tmp/"$name".out
	distinct=$(grep distinct /tmp/"$name".out | cut -d' ' -f2)
	check ctl attach --pid "$pid" --name "$name" "$@"
}
domain_guest() {	# NAME DOMAIN
	seeded_guest "$1" "--seed 5" --sharing "$2"
}
writers=
domain_guest d1 tenant-1
one=$(frames_at "$distinct")
domain_guest d2 tenant-2
two=$(frames_at $((2 * distinct)))
domain_guest d3 tenant-1
three=$(frames_at $((2 * distinct)))
echo "vm: pone.ko frames: one guest $one, another domain's $two, the first's domain's $three ($distinct distinct pages a guest)"
check test "$one" -eq "$distinct"
check test "$two" -eq $((2 * one))
check test "$three" -eq "$two"
kill $writers
sleep 1

# merge_across_nodes = yes (the default): guests of one content (--seed 7),
# their frames on nodes 0 and 1 (the VM has two), share them.
writers=
seeded_guest y0 "--seed 7 --node 0"
one=$(frames_at "$distinct")
seeded_guest y1 "--seed 7 --node 1"
two=$(frames_at "$distinct")
echo "vm: merge_across_nodes = yes: pone.ko frames: node 0's guest $one, with node 1's $two ($distinct distinct pages a guest)"
check test "$one" -eq "$distinct"
check test "$two" -eq "$one"

kill $writers
sleep 1

# Write tracking and recycling, in a kernel with soft-dirty bits (pagemap.c's
# own test runs its soft-dirty part here) and zram swap: an anonymous and a
# memfd guest's reclaim passes read only what it wrote since the pass
# before, still see every change, and page its zero pages out; so do a
# /dev/pone guest's, whose writes pone.ko tracks and whose zero pages it
# discards.
check grep -q "write tracking: soft-dirty" /tmp/poned.log
check test_pagemap
check swap_on 64
# Zero pages go out whether their huge page is idle or not: 6.1 tells huge
# pages by their frames' flags, THP is always on here, and the guests are
# not idle for a merge period of 600 s.
check ctl set merge_period=600 thp_split=always

# tracked_guest RAM-FLAG NAME: a guest of that RAM attached, recycled, and
# its writes tracked.
tracked_guest() {
	start_guest -m 16M $1 --zero 25 --dup 50
	check ctl attach --pid "$guest" --name "$2"
	# Read once whole, its zero pages paged out, then left alone: passes that
	# read nothing of it.
	sleep 5
	status
	echo "vm: $2: idle guest: $(grep -o '"last_pass":{[^}]*}' /tmp/status.json)"
	check test "$(field unwritten)" -ge 3000
	check test "$(field scanned)" -le 16
	recycled=$(field recycled_pages)
	check test "$recycled" -gt 0
	guest_zero=$(say distinct | cut -d' ' -f3)
	name=$2
	# 10 % of the RAM in one piece is zeroed: what was data there changes,
	# and is paged out two reclaim passes on (swap: zram). No pass runs
	# while the guest writes: a write between a pass's taking and clearing
	# of the soft-dirty bits is seen only by the next merge pass
	# (pagemap.h), and this counts what reclaim passes see. A set starts
	# a pass at once; the next one waits for the period.
	check ctl set reclaim_period=600
	sleep 2
	from=$(wc -l </tmp/poned.log) t0=$(cut -d. -f1 /proc/uptime)
	check test "$(say 'free-range 50 10')" = freed
	check ctl set reclaim_period=1
	newly=$(($(say distinct | cut -d' ' -f3) - guest_zero))
	start=$(date +%s)
	while [ $(($(date +%s) - start)) -lt 30 ]; do
		status
		[ "$(field recycled_pages)" -ge $((recycled + newly)) ] && break
		sleep 1
	done
	sleep 2
	set -- $(tail -n +"$from" /tmp/poned.log | awk '
		/reclaim pass:/ { split($0, a, "reclaim pass: "); split(a[2], b, " ")
				  read += b[1]; passes++
				  match(a[2], /[0-9]+ changed/)
				  changed += substr(a[2], RSTART, RLENGTH) + 0 }
		END { print read + 0, passes + 0, changed + 0 }')
	seconds=$(($(cut -d. -f1 /proc/uptime) - t0))
	echo "vm: $name: $newly pages zeroed; in $seconds s, $2 reclaim passes read $1 pages, saw $3 changed; $(field recycled_pages) pages recycled in all"
	check test "$3" -eq "$newly"
	check test "$(field recycled_pages)" -ge $((recycled + newly))
	check test "$2" -ge 3
	# One a reclaim period (1 s), passes being short; whole seconds of uptime.
	check test "$2" -le $((seconds + 4))
	# What was written, and little else (pages paged in again by the writes).
	check test "$1" -ge "$newly"
	check test "$1" -le 1000
	check test "$(say verify)" = "ok 4096"
	check ctl detach --name "$name"
	echo quit >&3
	wait "$guest"
}

tracked_guest "" anon
tracked_guest --memfd memfd
tracked_guest --pone pone
kill "$poned"
wait "$poned"

# merge_across_nodes = no: the same guests keep a frame of each content on
# each node; one more on node 0 holds none the first does not.
rm -f /run/poned.sock
start_poned 2 debug 1 "merge_across_nodes = no"
status
check grep -q '"numa":{"nodes":2,"merge_across_nodes":false,"nodes_apart":true,' /tmp/status.json
writers=
seeded_guest n0 "--seed 7 --node 0"
one=$(frames_at "$distinct")
seeded_guest n1 "--seed 7 --node 1"
two=$(frames_at $((2 * distinct)))
# Workers bound to a node each (the VM has a CPU a node), which read the
# stripes of their node: with a guest on each node (whose merges keep its
# pages there), nine in ten pages a worker took were on its node, over ten
# seconds of passes.
cpus=$(for t in /proc/"$poned"/task/*; do
	grep -q pone-worker "$t"/comm &&
		grep Cpus_allowed_list "$t"/status | cut -f2
done | sort | tr '\n' ' ')
echo "vm: the workers' CPUs: $cpus"
check test "$cpus" = "0 1 "
# node_reads NODE: "PAGES LOCAL" of the workers on NODE, as of status.
node_reads() {
	grep -o "{\"node\":$1,\"workers\":1,\"pages\":[0-9]*,\"local\":[0-9]*}" \
		/tmp/status.json | tr -c '0-9\n' ' ' | awk '{ print $3, $4 }'
}
status
set -- $(node_reads 0) $(node_reads 1)
sleep 10
status
set -- "$@" $(node_reads 0) $(node_reads 1)
check test $# -eq 8
p0=$(($5 - $1)) l0=$(($6 - $2)) p1=$(($7 - $3)) l1=$(($8 - $4))
echo "vm: workers on node 0 read $l0 of $p0 pages on their node, on node 1 $l1 of $p1"
check test "$p0" -gt 0
check test "$p1" -gt 0
check test $((10 * l0)) -ge $((9 * p0))
check test $((10 * l1)) -ge $((9 * p1))
ctl status >/tmp/status.txt
check grep -q "^NUMA: 2 nodes, pages merge only on their node; node 0: 1 worker, " /tmp/status.txt
seeded_guest n2 "--seed 7 --node 0"
three=$(frames_at $((2 * distinct)))
echo "vm: merge_across_nodes = no: pone.ko frames: node 0's guest $one, with node 1's $two, another on node 0 $three ($distinct distinct pages a guest)"
check test "$one" -eq "$distinct"
check test "$two" -eq $((2 * one))
check test "$three" -eq "$two"
kill $writers
sleep 1
kill "$poned"
wait "$poned"
grep -E 'error|warning|merge pass' /tmp/poned.log
check rmmod pone
finish
