#!/usr/bin/env bash
# bench.sh SOURCE-ROOT WORK-DIR PONED PONE-CTL TESTGUEST: the benchmark of
# poned with pone.ko against the kernel's KSM in the same VM
# (bench-init.sh), booted without the kernel's debugging checks, in
# Debian 12's backports kernel (6.12) and then in its own (6.1; skipped
# with PONE_BENCH_KERNELS=6.12). Its figures are read out of the consoles
# into WORK-DIR/bench.json, one JSON object a line, with the ratios the
# targets are about; 6.1's names are prefixed k61_. A missed target is
# reported, not failed.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
src=$1 work=$2
shift 2
: >"$work/bench.json"
for kernel in ${PONE_BENCH_KERNELS:-6.12 6.1}; do
	dir=$work prefix=
	if [ "$kernel" != 6.12 ]; then
		dir=$work/k$kernel prefix=k${kernel//./}_
	fi
	PONE_VM_KERNEL=$kernel bash "$here/daemon.sh" -i "$here/bench-init.sh" \
		-b -m 2048 -t 1500 "$src" "$dir" "$@" >/dev/null
	sed -n 's/^BENCH: //p' "$dir/bench-console.log" | tr -d '\r' |
	awk -F'"' -v prefix="$prefix" '
	{ v[$4] = substr($7, 2, index($7, ",") - 2)
	  sub(/"name":"/, "&" prefix); print }
	function ratio(name, a, b, unit) {
		r = v[b] ? v[a] / v[b] : 0
		printf "{\"name\":\"%s%s\",\"value\":%.2f,\"unit\":\"%s\"}\n",
		       prefix, name, r, unit
	}
	END {
		ratio("budget_time_ratio", "poned_budget_time_to_95",
		      "ksm_budget_time_to_95", "x")
		ratio("budget_cpu_ratio", "poned_budget_cpu",
		      "ksm_budget_cpu", "x")
		ratio("ksm_over_poned_time_to_95", "ksm_time_to_95",
		      "poned_t2s1_time_to_95", "x")
		ratio("poned_over_ksm_saved_per_cpu", "poned_t2s1_saved_per_cpu",
		      "ksm_saved_per_cpu", "x")
		ratio("poned_t2_over_t1_merges_per_s", "poned_t2_merges_per_s",
		      "poned_t1_merges_per_s", "x")
		ratio("steady_cpu_ratio", "poned_budget_steady_cpu",
		      "ksm_budget_steady_cpu", "x")
		ratio("steady_saved_ratio", "poned_budget_steady_saved_avg",
		      "ksm_budget_steady_saved_avg", "x")
		ratio("steady_vs_default_cpu_ratio", "poned_budget_steady_cpu",
		      "ksm_default_steady_cpu", "x")
		ratio("steady_vs_default_saved_ratio",
		      "poned_budget_steady_saved_avg",
		      "ksm_default_steady_saved_avg", "x")
		ratio("ksm_corunner_slowdown", "ksm_budget_corunner_s",
		      "corunner_alone_s", "x")
		ratio("poned_corunner_slowdown", "poned_budget_corunner_s",
		      "corunner_alone_s", "x")
	}' >>"$work/bench.json"
done
cat "$work/bench.json"
awk -F'"' '{ v[$4] = substr($7, 2, index($7, ",") - 2) }
	function met(ok) { return ok ? "met" : "MISSED" }
	function table(p, k) {
		printf "\n%s%-24s %9s %9s %9s %9s %9s %9s\n", p, "", "KSM",
		       "KSM 50%", "poned t1", "poned t2", "t2, 1 per", "t2 50%"
		split("possible_pages saved_pages time_to_95 cpu saved_per_cpu",
		      keys, " ")
		for (k = 1; k <= 5; k++)
			printf "%-24s %9s %9s %9s %9s %9s %9s\n", keys[k],
			       v[p "ksm_" keys[k]], v[p "ksm_budget_" keys[k]],
			       v[p "poned_t1_" keys[k]],
			       v[p "poned_t2_" keys[k]],
			       v[p "poned_t2s1_" keys[k]],
			       v[p "poned_budget_" keys[k]]
		printf "%-24s %9s %9s\n", "cpu_share (CPUs)",
		       v[p "ksm_cpu_share"], v[p "ksm_budget_cpu_share"]
		printf "%-24s %9s %9s %9s %9s %9s %9s\n", "steady_cpu (60 s)",
		       "", v[p "ksm_budget_steady_cpu"], "", "", "",
		       v[p "poned_budget_steady_cpu"]
		printf "%-24s %9s %9s %9s %9s %9s %9s\n", "steady_saved_avg",
		       "", v[p "ksm_budget_steady_saved_avg"], "", "", "",
		       v[p "poned_budget_steady_saved_avg"]
		printf "%-24s %9s %9s %9s %9s %9s %9s\n", "merges_per_s", "", "",
		       v[p "poned_t1_merges_per_s"], v[p "poned_t2_merges_per_s"],
		       v[p "poned_t2s1_merges_per_s"],
		       v[p "poned_budget_merges_per_s"]
		printf "half a CPU each: time %.2fx KSM (target <= 1: %s), " \
		       "CPU %.2fx KSM (target <= 1: %s)\n",
		       v[p "budget_time_ratio"], met(v[p "budget_time_ratio"] <= 1),
		       v[p "budget_cpu_ratio"], met(v[p "budget_cpu_ratio"] <= 1)
		printf "fastest, one stable period: KSM over poned time to 95 " \
		       "%%: %.2fx (target >= 1: %s); saved per CPU-second " \
		       "%.2fx KSM (target >= 1: %s)\n",
		       v[p "ksm_over_poned_time_to_95"],
		       met(v[p "ksm_over_poned_time_to_95"] >= 1),
		       v[p "poned_over_ksm_saved_per_cpu"],
		       met(v[p "poned_over_ksm_saved_per_cpu"] >= 1)
		printf "merges/s, 2 threads over 1: %.2fx (target >= 1.6x: %s)\n",
		       v[p "poned_t2_over_t1_merges_per_s"],
		       met(v[p "poned_t2_over_t1_merges_per_s"] >= 1.6)
		printf "steady state against KSM at half a CPU: CPU %.2fx " \
		       "(target <= 0.2: %s), saved %.2fx (target >= 0.98: %s)\n",
		       v[p "steady_cpu_ratio"], met(v[p "steady_cpu_ratio"] <= 0.2),
		       v[p "steady_saved_ratio"],
		       met(v[p "steady_saved_ratio"] >= 0.98)
		printf "steady state against KSM at its defaults (CPU %s, " \
		       "saved %s): CPU %.2fx (target <= 1: %s), saved %.2fx " \
		       "(target >= 1: %s)\n", v[p "ksm_default_steady_cpu"],
		       v[p "ksm_default_steady_saved_avg"],
		       v[p "steady_vs_default_cpu_ratio"],
		       met(v[p "steady_vs_default_cpu_ratio"] <= 1),
		       v[p "steady_vs_default_saved_ratio"],
		       met(v[p "steady_vs_default_saved_ratio"] >= 1)
		printf "co-runner (%s s alone): %.2fx slower beside KSM, " \
		       "%.2fx beside poned, at half a CPU each\n",
		       v[p "corunner_alone_s"], v[p "ksm_corunner_slowdown"],
		       v[p "poned_corunner_slowdown"]
	}
	END {
		if (("ksm_cpu") in v)
			table("")
		if (("k61_ksm_cpu") in v)
			table("k61_")
	}' "$work/bench.json"
