#!/bin/sh
# /init of the QEMU VM: a QEMU process with its guest RAM on /dev/pone, as
# an operator starts one, attached by poned by its pid alone. A loader puts
# pages in guest RAM, most of them copies of two; QEMU never runs a vCPU
# (-S), so its RAM holds what the loader wrote. poned must merge the
# copies, QEMU must read back every byte as loaded, and when QEMU quits
# poned must let it go, and pone.ko its frames. Says VM-RESULT: PASS or
# FAIL.
. /lib/vm-lib.sh

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
	n=$1
	shift
	i=0
	until "$@" || [ $i -ge $((n * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	"$@"
}

check insmod /lib/pone.ko
start_poned 2 info

# 64 copies each of two random pages, then 32 pages of their own.
dd if=/dev/urandom of=/tmp/a bs=4096 count=1 2>/dev/null
dd if=/dev/urandom of=/tmp/b bs=4096 count=1 2>/dev/null
for i in $(seq 64); do
	cat /tmp/a /tmp/b
done >/tmp/blob
dd if=/dev/urandom bs=4096 count=32 2>/dev/null >>/tmp/blob
size=$(wc -c </tmp/blob)

mkfifo /tmp/mon.in
# Here QEMU is /bin's, not /usr/bin's: where its TCG module and BIOS are.
QEMU_MODULE_DIR=/usr/lib/x86_64-linux-gnu/qemu \
qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64M \
	-L /usr/share/seabios \
	-object memory-backend-file,id=m0,size=64M,mem-path=/dev/pone,share=on \
	-machine pc,memory-backend=m0 \
	-device loader,file=/tmp/blob,addr=0x1000000,force-raw=on \
	-monitor stdio </tmp/mon.in >/tmp/mon.out 2>/tmp/qemu.err &
qemu=$!
exec 4>/tmp/mon.in
check wait_for 120 grep -q "(qemu)" /tmp/mon.out
cat /tmp/qemu.err

check ctl attach --pid "$qemu" --name qemu
status
echo "vm: $(grep -o '"guests":\[{[^]]*' /tmp/status.json | head -c 300)"
check grep -q '"ram":"pone"' /tmp/status.json

# Two periods and a merging pass: every copy merged into the first.
merged_all() {
	status
	[ "$(field merges)" -ge 126 ]
}
check wait_for 60 merged_all
echo "vm: pone.ko merged $(field merges) pages of QEMU's RAM," \
     "$(field frames) frames left"

# QEMU writes the file, then closes it: whole, it is done.
echo "pmemsave 0x1000000 $size \"/tmp/dump\"" >&4
dumped() {
	[ -f /tmp/dump ] && [ "$(wc -c </tmp/dump)" -eq "$size" ]
}
check wait_for 60 dumped
check cmp /tmp/dump /tmp/blob

echo quit >&4
wait "$qemu"
gone() {
	status
	grep -q '"guests":\[\]' /tmp/status.json
}
check wait_for 30 gone
check test "$(pone-ctl --socket /run/poned.sock guests | grep -c qemu)" = 0
kill "$poned"
wait "$poned"
grep -E 'error|warning' /tmp/poned.log
check rmmod pone
[ "$fail" = 0 ] && echo "VM-RESULT: PASS" || echo "VM-RESULT: FAIL"
poweroff -f
