#!/usr/bin/env bash
# Sets PageONE up (packages, build) and runs the demo: the engine scans a
# demo memory image of known layout and prints what it found.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release
ninja -C build-release
exec build-release/tests/pone-demo "$@"
