#!/bin/sh
# fuzz.sh FUZZER SEEDS SECONDS: runs a libFuzzer fuzzer for SECONDS from
# the seed corpus SEEDS, which stays as it is (the inputs it adds go to a
# directory that is then removed); fails on a finding, whose input is
# kept beside FUZZER as crash-*, leak-*, timeout-* or oom-*.
set -eu
fuzzer=$1 seeds=$2 seconds=$3
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
	-print_final_stats=1 -artifact_prefix="$(dirname "$fuzzer")/" \
	"$corpus" "$seeds"
