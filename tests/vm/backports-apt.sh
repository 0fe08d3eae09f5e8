#!/usr/bin/env bash
# . backports-apt.sh CACHE-DIR: sets apt, the options that make apt-get and
# apt-cache see only Debian 12's bookworm-backports suite, with lists and
# downloads of their own in CACHE-DIR/apt; the machine's apt sources stay
# as they are. The suite comes from the mirror the machine has bookworm
# from. The lists are fetched once.
backports=$(realpath -m "$1/apt")
apt=(-o "Dir::Etc::sourcelist=$backports/sources.list"
	-o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$backports/lists"
	-o "Dir::Cache=$backports/cache" -o "APT::Get::List-Cleanup=0")
bookworm_mirror() {
	apt-cache policy |
		awk '$3 == "bookworm/main" && $2 ~ /^https?:/ { print $2; exit }'
}
if [ ! -f "$backports/lists/fetched" ]; then
	# The machine's lists may not have been fetched yet.
	mirror=$(bookworm_mirror)
	[ -n "$mirror" ] || { apt-get update -q >&2 && mirror=$(bookworm_mirror); }
	if [ -z "$mirror" ]; then
		echo "backports: no apt source of Debian 12 (bookworm main) on" \
			"this machine to take bookworm-backports from" >&2
		exit 1
	fi
	mkdir -p "$backports/lists/partial" "$backports/cache/archives/partial"
	echo "deb $mirror bookworm-backports main" >"$backports/sources.list"
	apt-get "${apt[@]}" update -q >&2
	touch "$backports/lists/fetched"
fi
