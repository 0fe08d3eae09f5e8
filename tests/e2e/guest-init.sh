#!/bin/sh
# /init of the QEMU guest of the end-to-end test and the demo: runs the
# workload on the serial console, then powers off.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
pone-guestload
poweroff -f
