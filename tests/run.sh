#!/usr/bin/env bash
# Builds PageONE three ways and runs every test suite but 'bench':
#   build-release  all suites
#   build-asan     the unit suite under AddressSanitizer + UBSan
#   build-tsan     the concurrency stress tests under ThreadSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh

setup() {
	local dir=$1
	shift
	[ -f "$dir/build.ninja" ] || meson setup "$dir" "$@"
	ninja -C "$dir"
}

setup build-release --buildtype=release
meson test -C build-release --no-suite bench --print-errorlogs

setup build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined \
	-Dc_args=-fno-sanitize-recover=all
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C build-asan --suite unit --print-errorlogs

setup build-tsan --buildtype=debugoptimized -Db_sanitize=thread
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	meson test -C build-tsan --suite stress --print-errorlogs
