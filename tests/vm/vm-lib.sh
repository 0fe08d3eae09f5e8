# Sourced by the /init scripts of the VMs (/lib/vm-lib.sh there), first
# thing: it mounts what they need, and gives them check and ctl.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /run /var/lib/pone /etc /tmp
echo 30 >/proc/sys/kernel/hung_task_timeout_secs

fail=0
# check COMMAND...: runs it, says so, and remembers a failure.
check() {
	if "$@"; then
		echo "vm: ok: $*"
	else
		echo "vm: FAILED: $*"
		fail=1
	fi
}

ctl() {
	pone-ctl --socket /run/poned.sock "$@"
}

# poned's status, in /tmp/status.json; field KEY: the first "KEY":N of it.
status() {
	ctl status --json >/tmp/status.json
}
field() {
	grep -o "\"$1\":[0-9]*" /tmp/status.json | head -1 | cut -d: -f2
}

# start_poned THREADS LOG-LEVEL [PERIOD [SETTING]]: poned with periods of
# PERIOD seconds (1 unless told), no CPU limit below its threads, and a
# SETTING line more, logging to /tmp/poned.log; sets poned to its pid once
# its control socket is up.
start_poned() {
	cat >/etc/poned.conf <<CONF
[poned]
threads = $1
cpu_limit = $1
reclaim_period = ${3:-1}
merge_period = ${3:-1}
log_level = $2
socket = /run/poned.sock
state_dir = /var/lib/pone
${4:-}
CONF
	poned --config /etc/poned.conf --foreground 2>/tmp/poned.log &
	poned=$!
	i=0
	until [ -S /run/poned.sock ] || [ $i -ge 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# swap_on MiB: a zram swap device of that size (zero pages cost it nothing).
# The modules it needs first are listed before it in /lib/zram.modules.
swap_on() {
	for mod in $(grep -vx zram /lib/zram.modules); do
		insmod "/lib/$mod.ko" || return 1
	done
	insmod /lib/zram.ko num_devices=1 &&
		echo "$1M" >/sys/block/zram0/disksize &&
		mkswap /dev/zram0 >/dev/null && swapon /dev/zram0
}
