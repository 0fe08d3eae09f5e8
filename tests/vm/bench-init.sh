#!/bin/sh
# /init of the benchmark VM: the same guest-like processes (most pages
# duplicated across them, some zero, some unique) deduplicated by the
# kernel's own KSM in anonymous memory, at its fastest, held to half a CPU
# and at its defaults, then by poned in /dev/pone memory: with 1 and with 2
# threads and the seeds' stability rule (two merge periods), with 2
# threads and KSM's rule (one: a page unchanged since the last look), and
# with that held to half a CPU. The runs at half a CPU time a co-running
# process while they converge; they and KSM's defaults then go on for a
# steady state: every guest rewrites 1 % of its pages a second, half with
# new content and half with content the others hold. Each figure is a line
# BENCH: {"name":...,"value":...,"unit":...} for bench.sh to read; the
# targets are judged there. Says VM-RESULT: FAIL only on errors: a run
# that never gets to 95 % of the memory it could save, a page that lost
# its content, a command that failed.
. /lib/vm-lib.sh

guests=4 size=128M zero=10 dup=80
limit=240	# seconds a run may take to get to 95 %

error() {
	echo "vm: FAILED: $*"
	fail=1
}

figure() {
	echo "BENCH: {\"name\":\"$1\",\"value\":$2,\"unit\":\"$3\"}"
}

calc() {
	awk "BEGIN { printf \"%.3f\n\", $* }"
}

# Times in centiseconds, into $cs, read with shell builtins only: a run may
# end within a second, so the polls that see it end must be frequent and
# start no process (each costs milliseconds under TCG, while ksmd goes on
# burning CPU). Since boot: date has whole seconds only.
cs_now() {
	read -r up _ </proc/uptime
	cs=$((${up%.*} * 100 + 1${up#*.} - 100))
}

# CPU of process $1, all its threads (utime + stime, USER_HZ 100).
cs_cpu() {
	read -r stat <"/proc/$1/stat"
	set -- ${stat##*") "}
	cs=$((${12} + ${13}))
}

ksm_cpu() {
	cs_cpu "$ksmd"
}

poned_cpu() {
	cs_cpu "$poned"
}

# A sleep of $1 seconds with builtins only (busybox's sleep is a process):
# a read that times out on a fifo no one writes.
nap_fifo=/tmp/nap
mkfifo "$nap_fifo"
nap() {
	read -r -t "$1" _ <>"$nap_fifo" || :
}

# Guest I on fd I+2; a reply is a line, waited for.
say() {
	out=/tmp/g$1.out
	n=$(($(wc -l <"$out") + 1))
	echo "$2" >&$(($1 + 2))
	i=0
	while [ "$(wc -l <"$out")" -lt "$n" ] && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	tail -n 1 "$out"
}

# start_guests RAM-FLAG: the guests, filled; sets pids, pages, possible
# (pages less distinct non-zero contents) and zero_pages.
start_guests() {
	pids=
	for g in $(seq "$guests"); do
		rm -f "/tmp/g$g.in" "/tmp/g$g.out"
		mkfifo "/tmp/g$g.in"
		pone-testguest -m "$size" "$1" --zero "$zero" --dup "$dup" \
			--seed "$g" <"/tmp/g$g.in" >"/tmp/g$g.out" &
		pids="$pids $!"
		eval "exec $((g + 2))>/tmp/g$g.in"
	done
	pages=0 unique=0 shared=0 zero_pages=0
	for g in $(seq "$guests"); do
		i=0
		until grep -q ready "/tmp/g$g.out" || [ $i -ge 1200 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		grep -q ready "/tmp/g$g.out" || error "guest $g not ready"
		pages=$((pages + $(cut -d' ' -f2 "/tmp/g$g.out")))
		set -- $(say "$g" distinct)
		# Shared contents are the same in every guest, the rest unique.
		unique=$((unique + $2 - $4))
		[ "$4" -gt "$shared" ] && shared=$4
		zero_pages=$((zero_pages + $3))
	done
	possible=$((pages - unique - shared))
	echo "vm: $guests guests, $pages pages: $zero_pages zero," \
	     "$((unique + shared)) distinct non-zero"
}

# Every page as written, then the guests end with their stdin.
stop_guests() {
	for g in $(seq "$guests"); do
		reply=$(say "$g" verify)
		[ "${reply%% *}" = ok ] || error "guest $g: verify: $reply"
		eval "exec $((g + 2))>&-"
	done
	for pid in $pids; do
		wait "$pid"
	done
}

# wait_saved RUN CPU-COMMAND SAVED-COMMAND POSSIBLE EVERY: from t0 and
# cpu0, runs SAVED-COMMAND (which sets $saved) every EVERY seconds until it
# says 95 % of POSSIBLE pages, and prints RUN's figures then, the time it
# saw it in $at; returns non-zero if it never does. CPU-COMMAND sets $cs.
wait_saved() {
	target=$(($4 * 95 / 100 + ($4 * 95 % 100 > 0)))
	figure "${1}_possible_pages" "$4" pages
	saved=0 t95=
	cs_now
	end=$((cs + limit * 100))
	while [ "$cs" -lt "$end" ]; do
		$3
		cs_now
		if [ "$saved" -ge "$target" ]; then
			at=$cs
			$2
			t95=$(calc "($at - $t0) / 100")
			cpu95=$(calc "($cs - $cpu0) / 100")
			break
		fi
		nap "$5"
	done
	if [ -z "$t95" ]; then
		error "$1: $saved of $4 pages saved after ${limit}s"
		return 1
	fi
	figure "${1}_saved_pages" "$saved" pages
	figure "${1}_time_to_95" "$t95" s
	figure "${1}_cpu" "$cpu95" CPU-s
	# A tick is the finest CPU time /proc has.
	figure "${1}_saved_per_cpu" \
		"$(calc "$saved / ($cpu95 > 0.01 ? $cpu95 : 0.01)")" pages/CPU-s
}

ksm_saved() {
	read -r saved </sys/kernel/mm/ksm/pages_sharing
}

# The co-runner: fixed work (checksums of a 16 MiB file in RAM) beside the
# run, timed; corun_wait RUN waits for it and prints its time.
dd if=/dev/urandom of=/tmp/corun bs=1M count=16 2>/dev/null
corun_work() {
	cs_now
	c0=$cs
	for i in 1 2 3 4 5 6; do
		md5sum /tmp/corun >/dev/null
	done
	cs_now
	echo $((cs - c0)) >/tmp/corun.cs
}

corun_start() {
	[ -n "$corun" ] || return 0
	corun_work &
	corun_pid=$!
}

corun_figure() {
	figure "${1}_s" "$(calc "$(cat /tmp/corun.cs) / 100")" s
}

corun_wait() {
	[ -n "$corun" ] || return 0
	wait "$corun_pid"
	corun_figure "${1}_corunner"
}

# steady RUN CPU-COMMAND SAVED-COMMAND: with the run converged, 60 s of
# the guests rewriting their pages; the CPU over the window, the pages
# saved at its end and on average (sampled every second).
steady() {
	[ -n "$steady" ] || return 0
	window=$1
	for g in $(seq "$guests"); do
		say "$g" "churn 10" >/dev/null
	done
	$2
	c0=$cs
	cs_now
	end=$((cs + 6000))
	sum=0 n=0
	while [ "$cs" -lt "$end" ]; do
		nap 1
		$3
		sum=$((sum + saved)) n=$((n + 1))
		cs_now
	done
	$2
	figure "${window}_steady_cpu" "$(calc "($cs - $c0) / 100")" CPU-s
	figure "${window}_steady_saved_avg" $((sum / n)) pages
	figure "${window}_steady_saved_end" "$saved" pages
	churned=0
	for g in $(seq "$guests"); do
		set -- $(say "$g" stop)
		churned=$((churned + $2))
	done
	figure "${window}_steady_rewritten" "$churned" pages
}

# Pages ksmd visited since boot, into $visited (6.1 has no count of them:
# whole scans of the guests' pages there).
ksm_visited() {
	if [ -r $ksm/pages_scanned ]; then
		read -r visited <$ksm/pages_scanned
	else
		read -r visited <$ksm/full_scans
		visited=$((visited * pages))
	fi
}

# ksm_run RUN PAGES-TO-SCAN SLEEP-MS [SHARE]: KSM on fresh guests, with as
# many sharers a page as there are pages, so it can save as much as poned,
# and smart_scan where the kernel has it. Without use_zero_pages (6.1 does not
# count those) zero pages are merged as one more content. Sets ksm_rate,
# the pages ksmd visited a CPU-second. With SHARE (of a CPU), on a kernel
# that counts no visits, only whole scans (6.1), whose ksm_rate is then a
# guess, the batch is sized again after a second by the share it got.
ksm=/sys/kernel/mm/ksm
ksm_run() {
	start_guests --ksm
	echo "$2" >$ksm/pages_to_scan
	echo "$3" >$ksm/sleep_millisecs
	echo "$pages" >$ksm/max_page_sharing
	[ -w $ksm/smart_scan ] && echo 1 >$ksm/smart_scan
	ksm_visited
	visited0=$visited
	ksmd=$(grep -lx ksmd /proc/[0-9]*/comm | cut -d/ -f3)
	ksm_cpu
	cpu0=$cs
	cs_now
	t0=$cs
	corun_start
	echo 1 >$ksm/run
	if [ -n "${4:-}" ] && [ ! -r $ksm/pages_scanned ]; then
		nap 1
		ksm_cpu
		got=$cs
		cs_now
		echo "$(calc "$2 * $4 / (($got - $cpu0) / ($cs - $t0 + 0.01))" |
			cut -d. -f1)" >$ksm/pages_to_scan
	fi
	wait_saved "$1" ksm_cpu ksm_saved $((possible - (zero_pages > 0))) 0.02
	figure "${1}_cpu_share" "$(calc "$cpu95 / ($t95 > 0 ? $t95 : 1)")" \
		CPUs
	ksm_visited
	ksm_rate=$(calc "($visited - $visited0) / ($cpu95 > 0.01 ? $cpu95 : 0.01)")
	corun_wait "$1"
	echo "vm: $1: $(grep . $ksm/pages_* $ksm/full_scans | tr '\n' ' ')"
	steady "$1" ksm_cpu ksm_saved
	stop_guests
	echo 2 >$ksm/run
}

# Sum of every "KEY":N of the last status, KEY an extended regex.
sum_of() {
	grep -oE "\"($1)\":[0-9]+" /tmp/status.json |
		awk -F: '{ n += $2 } END { print n + 0 }'
}

# The guests' pages less the frames pone.ko holds for them (merged away,
# or zero pages discarded), into $saved: its own counter, read without
# asking poned.
pone_totals=/sys/class/misc/pone
pone_saved() {
	read -r frames <$pone_totals/frames
	saved=$((pages - frames))
}

# poned_run RUN THREADS [KEY=VALUE...]: poned on /dev/pone memory, with
# those settings besides periods of 1 s.
poned_run() {
	run=$1
	shift
	# Every guest attached before the first pass that counts, as every
	# guest is there when KSM starts: periods of 1 s from then on.
	start_poned "$1" info 600
	shift
	start_guests --pone
	g=0
	for pid in $pids; do
		g=$((g + 1))
		ctl attach --pid "$pid" --name "guest$g" >/dev/null ||
			error "$run: attach guest $g"
	done
	poned_cpu
	cpu0=$cs
	cs_now
	t0=$cs
	corun_start
	ctl set reclaim_period=1 merge_period=1 "$@" >/dev/null ||
		error "$run: set the periods and $*"
	if wait_saved "$run" poned_cpu pone_saved "$possible" 0.02; then
		corun_wait "$run"
		# The rest of the way (a few pages may stay busy), for the
		# frames freed a CPU-second: the CPU until the last was freed,
		# not that of the passes that find nothing more to do.
		spent=$cpu95
		end=$((at + 2000))
		while [ "$saved" -lt "$possible" ] && cs_now &&
		      [ "$cs" -lt "$end" ]; do
			nap 0.1
			before=$saved
			pone_saved
			poned_cpu
			[ "$saved" -gt "$before" ] &&
				spent=$(calc "($cs - $cpu0) / 100")
		done
		ctl status --json >/tmp/status.json || error "pone-ctl status"
		figure "${run}_frames_freed" "$saved" frames
		figure "${run}_freed_per_cpu" "$(calc "$saved / $spent")" \
			frames/CPU-s
		figure "${run}_merges" "$(sum_of merges)" merges
		# The module's merges over the time of the passes that did
		# them: the rate poned merges at, not how long pages wait to
		# become stable. None where the merging pass has not ended
		# (one held to a CPU limit goes on after the 95 %).
		rate=$(awk '
			/pages read/ { wall = $(NF - 3) }
			/merged by pone.ko/ {
				sub(/.*; /, ""); if ($1 > 0) { n += $1; s += wall }
			}
			END { if (s) printf "%.1f\n", n / s }' /tmp/poned.log)
		[ -z "$rate" ] || figure "${run}_merges_per_s" "$rate" merges/s
	fi
	ctl status --json
	echo
	grep -v ': 0 pages read' /tmp/poned.log | grep 'pages read'
	steady "$run" poned_cpu pone_saved
	stop_guests
	kill "$poned"
	wait "$poned"
	# Its warnings (no swap: /dev/pone guests do not need it) are no error.
	grep '^poned: error' /tmp/poned.log && error "$run: poned log"
}

insmod /lib/pone.ko || error "insmod pone.ko"
[ -w /sys/kernel/mm/transparent_hugepage/enabled ] &&
	echo never >/sys/kernel/mm/transparent_hugepage/enabled
echo "vm: kernel $(uname -r)"
corun_work
corun_figure corunner_alone
# KSM at its fastest (as the seeds measured it): a big batch, no sleep.
ksm_run ksm 10000 0
# Half a CPU: a batch that takes as long as the sleep after it, at the
# rate ksmd visited pages at its fastest.
corun=1 steady=1
ksm_run ksm_budget "$(calc "$ksm_rate * 0.02" | cut -d. -f1)" 20 0.5
corun=
ksm_run ksm_default 100 20
steady=
poned_run poned_t1 1
poned_run poned_t2 2
poned_run poned_t2s1 2 stable_periods=1
corun=1 steady=1
poned_run poned_budget 2 stable_periods=1 cpu_limit=0.5
corun= steady=
rmmod pone || error "rmmod pone"
[ "$fail" = 0 ] && echo "VM-RESULT: PASS" || echo "VM-RESULT: FAIL"
poweroff -f
