#!/bin/sh
# /init of the pone.ko VM: loads the module, runs every /bin/pone-vm-*
# test, unloads and reloads it, and says VM-RESULT: PASS or FAIL.
# A deadlock shows up as a hung task report within the suite's time
# (vm-lib.sh sets it).
. /lib/vm-lib.sh

check insmod /lib/pone.ko
check test -c /dev/pone
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
