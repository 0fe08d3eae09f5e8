#!/bin/sh
# /init of the pone.ko VM: loads the module, runs every /bin/pone-vm-*
# test, unloads and reloads it, and says VM-RESULT: PASS or FAIL.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# A deadlock shows up as a hung task report within the suite's time.
echo 30 >/proc/sys/kernel/hung_task_timeout_secs

fail=0
check() {
	if "$@"; then
		echo "vm: ok: $*"
	else
		echo "vm: FAILED: $*"
		fail=1
	fi
}

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
