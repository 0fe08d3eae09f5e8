#!/bin/sh
# /init of the pone.ko VM: loads the module, runs every /bin/pone-vm-*
# test, unloads and reloads it, and says VM-RESULT: PASS or FAIL.
# A deadlock shows up as a hung task report within the suite's time
# (vm-lib.sh sets it).
. /lib/vm-lib.sh

check insmod /lib/pone.ko
check test -c /dev/pone
# O_DIRECT reads from a loop device into a region (pone-vm-semantics).
check insmod /lib/loop.ko
# slub_debug poisons the module's frame structs when they are freed, so
# that one used after its free is caught: not so if the cache were
# SLAB_TYPESAFE_BY_RCU, which keeps SLUB's poison off.
slab=/sys/kernel/slab/pone_frame
check grep -qx 1 $slab/poison
check grep -qx 0 $slab/destroy_by_rcu
for t in /bin/pone-vm-*; do
	start=$(date +%s)
	check "$t"
	echo "vm: $t took $(($(date +%s) - start)) s"
done
check rmmod pone
check test ! -e /dev/pone
check insmod /lib/pone.ko
check rmmod pone

if [ "$fail" = 0 ]; then
	echo "VM-RESULT: PASS"
else
	echo "VM-RESULT: FAIL"
fi
poweroff -f
