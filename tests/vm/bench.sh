#!/usr/bin/env bash
# bench.sh SOURCE-ROOT WORK-DIR PONED PONE-CTL TESTGUEST: the benchmark of
# poned with pone.ko against the kernel's KSM in the same VM
# (bench-init.sh), booted without the kernel's debugging checks. Its
# figures are read out of the console into WORK-DIR/bench.json, one JSON
# object a line, with the ratios the targets are about; a missed target is
# reported, not failed.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
work=$2
bash "$here/daemon.sh" -i "$here/bench-init.sh" -b -t 1100 "$@" >/dev/null
sed -n 's/^BENCH: //p' "$work/bench-console.log" | tr -d '\r' |
	awk -F'"' '
	{ print; v[$4] = substr($7, 2, index($7, ",") - 2) }
	function ratio(name, a, b, unit) {
		r = v[b] ? v[a] / v[b] : 0
		printf "{\"name\":\"%s\",\"value\":%.2f,\"unit\":\"%s\"}\n",
		       name, r, unit
		v[name] = r
	}
	END {
		ratio("ksm_over_poned_time_to_95", "ksm_time_to_95",
		      "poned_t2_time_to_95", "x")
		ratio("poned_over_ksm_saved_per_cpu", "poned_t2_saved_per_cpu",
		      "ksm_saved_per_cpu", "x")
		ratio("poned_t2_over_t1_merges_per_s", "poned_t2_merges_per_s",
		      "poned_t1_merges_per_s", "x")
	}' >"$work/bench.json"
cat "$work/bench.json"
awk -F'"' '{ v[$4] = substr($7, 2, index($7, ",") - 2) }
	function met(ok) { return ok ? "met" : "MISSED" }
	END {
		printf "\n%-28s %12s %12s %12s\n", "", "KSM", "poned 1 thr",
		       "poned 2 thr"
		split("possible_pages saved_pages time_to_95 cpu saved_per_cpu",
		      keys, " ")
		for (k = 1; k <= 5; k++)
			printf "%-28s %12s %12s %12s\n", keys[k],
			       v["ksm_" keys[k]], v["poned_t1_" keys[k]],
			       v["poned_t2_" keys[k]]
		printf "%-28s %12s %12s %12s\n", "merges_per_s", "",
		       v["poned_t1_merges_per_s"], v["poned_t2_merges_per_s"]
		printf "%-28s %12s %12s %12s\n", "freed_per_cpu (frames/CPU-s)",
		       "", v["poned_t1_freed_per_cpu"],
		       v["poned_t2_freed_per_cpu"]
		printf "\ntime to 95 %%: KSM %s s, poned %s s: KSM over " \
		       "poned %.2fx (target >= 4x: %s)\n", v["ksm_time_to_95"],
		       v["poned_t2_time_to_95"], v["ksm_over_poned_time_to_95"],
		       met(v["ksm_over_poned_time_to_95"] >= 4)
		printf "saved per CPU-second: %.2fx KSM (target >= 2x: %s)\n",
		       v["poned_over_ksm_saved_per_cpu"],
		       met(v["poned_over_ksm_saved_per_cpu"] >= 2)
		printf "merges/s, 2 threads over 1: %.2fx (target >= 1.6x: %s)\n",
		       v["poned_t2_over_t1_merges_per_s"],
		       met(v["poned_t2_over_t1_merges_per_s"] >= 1.6)
	}' "$work/bench.json"
