#!/usr/bin/env bash
# boot.sh [-t SECONDS] [-m MIB] [-l LOG] [-b] KERNEL INITRD [KERNEL-ARGS...]
# Boots KERNEL with INITRD under TCG on 2 CPUs (2 NUMA nodes of one CPU
# and half of MIB each) with the serial console on
# stdout (and in LOG), and fails unless the console shows "VM-RESULT: PASS"
# before the timeout and no kernel report: a WARNING, BUG, Oops, panic,
# refcount_t, bad page, slab or page poison corruption, list corruption,
# lockup, stall or hung task.
set -euo pipefail
timeout=600 mem=1024 log= bench=
while getopts t:m:l:b opt; do
	case $opt in
	t) timeout=$OPTARG ;;
	m) mem=$OPTARG ;;
	l) log=$OPTARG ;;
	b) bench=1 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
kernel=$1 initrd=$2
shift 2
[ -n "$log" ] || log=$(mktemp)

# Debian's kernel has no KASAN or lockdep; these catch what it can: slab
# redzones, poison and owner tracking, poisoned free pages (checked when
# they are allocated again), and a panic rather than a reboot. loglevel=5
# puts warnings (WARN(), refcount_t) on the console, not only errors. -b
# (for benchmarks) leaves the slab and page checks out: they slow every
# allocation, and KSM's rmap items more than pone.ko's frames.
args="console=ttyS0 panic=-1 oops=panic loglevel=5"
[ -n "$bench" ] || args="$args slub_debug=FZPU page_poison=1"
args="$args $*"

# Two NUMA nodes of one CPU (a socket, so no cache is shared across nodes)
# and half the memory each, so that placement by NUMA policy can be tested.
numa=()
for node in 0 1; do
	numa+=(-object "memory-backend-ram,id=ram$node,size=$((mem / 2))M"
		-numa "node,nodeid=$node,cpus=$node,memdev=ram$node")
done

set +e
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 -accel tcg \
	-smp 2,sockets=2 -m "$((mem / 2 * 2))" "${numa[@]}" \
	-nographic -no-reboot -nic none \
	-kernel "$kernel" -initrd "$initrd" -append "$args" </dev/null |
	tee "$log"
status=${PIPESTATUS[0]}
set -e

bad='WARNING:|BUG:|BUG |Oops|Kernel panic|KASAN|lockdep|refcount_t:'
bad="$bad|Bad page|Poison overwritten|memory corruption|list_add corruption"
bad="$bad|list_del corruption|general protection|soft lockup|hard LOCKUP"
bad="$bad|rcu_.*stall|blocked for more than|Call Trace:"
# The SIGBUS of a memory error is a notice (x86's do_sigbus()): the
# memory errors pone-vm-hwpoison injects give it on purpose.
sigbus='MCE: Killing .* due to hardware memory corruption fault at '
reports() { grep -av "$sigbus" "$log" | grep -aE "$bad"; }
if reports >/dev/null; then
	echo "boot: kernel report on the console:" >&2
	reports >&2
	exit 1
fi
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "boot: timed out after ${timeout}s" >&2
	exit 1
fi
grep -aq '^VM-RESULT: PASS' "$log" || {
	echo "boot: no VM-RESULT: PASS on the console (qemu: $status)" >&2
	exit 1
}
