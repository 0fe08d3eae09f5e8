#!/bin/sh
# /init of the QEMU guest of the end-to-end tests and the demo: runs the
# workload on the serial console, then powers off. Its arguments come
# from the kernel command line, as guestload=ARG,ARG,... (the kernel hands
# parameters it does not know to init as environment variables).
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# shellcheck disable=SC2046,SC2154 # split on purpose; set by the kernel
pone-guestload $(echo "${guestload:-}" | tr , ' ')
poweroff -f
