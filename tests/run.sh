#!/usr/bin/env bash
# Builds PageONE three ways and runs every test suite but 'bench':
#   build-release  all suites
#   build-asan     the unit, dsa, e2e and host suites under
#                  AddressSanitizer + UBSan (e2e: poned itself, fed bad
#                  requests, must stop clean)
#   build-tsan     the concurrency tests ('stress') under ThreadSanitizer
# Ends with one line, "tests: N passed, M failed", and fails if any did.
# A test that cannot run here (exit 77: no DSA device) is skipped: counted
# and named on a line of its own, neither passed nor failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh

passed=0
failed=0
skipped=0

setup() {
	local dir=$1
	shift
	[ -f "$dir/build.ninja" ] || meson setup "$dir" "$@"
	ninja -C "$dir"
}

# run DIR MESON-TEST-ARGS...: run the tests, count what passed and failed.
run() {
	local dir=$1 log=$1/meson-logs/testlog.json ok skip all
	shift
	meson test -C "$dir" --print-errorlogs "$@" || true
	ok=$(grep -c '"result": "OK"' "$log" || true)
	skip=$(grep -c '"result": "SKIP"' "$log" || true)
	all=$(grep -c '"result":' "$log" || true)
	passed=$((passed + ok))
	skipped=$((skipped + skip))
	failed=$((failed + all - ok - skip))
	# meson shows no output of a skipped test: say why it was skipped.
	python3 - "$log" <<-'EOF'
	import json, sys
	for line in open(sys.argv[1]):
	    t = json.loads(line)
	    if t["result"] == "SKIP":
	        why = (t.get("stdout") or "").strip().splitlines() or [""]
	        print("SKIPPED:", t["name"], "-", why[-1])
	EOF
}

setup build-release --buildtype=release
run build-release --no-suite bench

setup build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined \
	-Dc_args=-fno-sanitize-recover=all
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run build-asan --suite unit --suite dsa --suite e2e --suite host

setup build-tsan --buildtype=debugoptimized -Db_sanitize=thread
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	run build-tsan --suite stress

# The parsers under libFuzzer, ASan and UBSan: a minute each (tests/fuzz).
CC=clang-14 setup build-fuzz -Dfuzz=true
run build-fuzz --suite fuzz

echo "tests: $skipped skipped (the SKIPPED lines above say why)"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
