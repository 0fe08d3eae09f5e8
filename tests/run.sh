#!/usr/bin/env bash
# Builds PageONE three ways, with every option on and warnings as errors,
# and runs every test suite but 'bench':
#   build-release  all suites
#   build-asan     the unit, dsa, e2e and host suites under
#                  AddressSanitizer + UBSan (e2e: poned itself, fed bad
#                  requests, must stop clean)
#   build-tsan     the concurrency tests ('stress') under ThreadSanitizer
# The packages it needs are tests/deps.sh's to install, first.
# Ends with one line, "tests: N passed, M failed", and fails if meson test
# failed in any build. A test that cannot run here (exit 77: no DSA
# device) is skipped: counted and named on a line of its own, neither
# passed nor failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# CI builds everything there is: a missing library fails the setup.
ci_options=(--werror -Ddsa=enabled -Dsystemd=enabled -Dlibvirt=enabled
	    -Dtests=enabled)
passed=0
failed=0
skipped=0
status=0

# setup DIR MESON-SETUP-ARGS...: configure the build, again if it is
# there (the demo's, say, has neither --werror nor every option on), and
# build it.
setup() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "${ci_options[@]}" "$@"
	else
		meson setup "$dir" "${ci_options[@]}" "$@"
	fi
	ninja -C "$dir"
}

# run DIR MESON-TEST-ARGS...: run the tests; meson test's status is the
# verdict, its log gives the counts.
run() {
	local dir=$1 log=$1/meson-logs/testlog.json ok skip all
	shift
	meson test -C "$dir" --print-errorlogs "$@" || status=1
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
exit "$status"
