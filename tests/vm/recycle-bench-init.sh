#!/bin/sh
# /init of the recycle benchmark VM: pone-bench's recycle section in
# Debian's kernel, which keeps soft-dirty bits, on zram swap: once with
# write tracking, once reading every page, so that what a recycled page
# costs with and without it can be set side by side (under TCG only the
# ratio means something).
. /lib/vm-lib.sh

check swap_on 256
echo "vm: THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)," \
     "defrag $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
# Huge pages for the runs_thp layout as soon as they are asked for.
echo always >/sys/kernel/mm/transparent_hugepage/defrag
for flag in "" --no-write-tracking; do
	echo "vm: recycle bench ${flag:-with write tracking}"
	pone-bench --only recycle --pages 32K --threads 1 $flag \
		>/tmp/bench.out 2>/dev/null || fail=1
	grep -E 'Write tracking|cycles|check:' \
		/tmp/bench.out
done
[ "$fail" = 0 ] && echo "VM-RESULT: PASS" || echo "VM-RESULT: FAIL"
poweroff -f
