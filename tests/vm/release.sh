#!/usr/bin/env bash
# Prints the kernel release (6.1.0-N-amd64) that linux-headers-amd64 pulls in.
set -euo pipefail
dpkg-query -W -f='${Depends}' linux-headers-amd64 |
	grep -o 'linux-headers-[^ ,]*-amd64' | head -1 | sed 's/^linux-headers-//'
