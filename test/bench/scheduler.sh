# scheduler: bindings per second for a backlog of 5,000 pending pods on 100 and 1,000 simulated
# nodes (plain pods; node affinity with taints and tolerations; pod anti-affinity and affinity),
# and create-to-bound latency for 1,000 more pods arriving at half that rate (at most 500/s);
# beside kube-scheduler's
# scheduler_perf thresholds. Everything runs in one process on the real store, as in tug server.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
B=build/bench
make -s O=$B x86_64_defconfig >/dev/null && make -s -j"$(nproc)" O=$B tools >/dev/null || exit 1

out=$(mktemp /tmp/tug-bench-sched.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
for mode in plain constrained podaffinity; do
	for nodes in 100 1000; do
		"$B/tools/sched_bench" --mode "$mode" --nodes "$nodes" --pods 5000 \
			--latency-pods 1000 2>/dev/null >>"$out" || rc=1
	done
done

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# kube-scheduler's scheduler_perf: the pods/s below which its CI fails (performance-config.yaml,
# 5,000 nodes): SchedulingBasic, SchedulingNodeAffinity, SchedulingPodAntiAffinity.
upstream = {"plain": ("SchedulingBasic", 270), "constrained": ("SchedulingNodeAffinity", 220),
            "podaffinity": ("SchedulingPodAntiAffinity", 60)}
what = {"plain": "plain pods", "constrained": "node affinity + taints",
        "podaffinity": "pod (anti-)affinity"}
print(f"{'workload':<24}{'nodes':>6}{'pods/s':>9}{'decide':>9}{'at':>6}{'p50':>9}{'p99':>9}{'RSS':>9}"
      f"   kube-scheduler CI floor (5,000 nodes)")
for r in rows:
    name, floor = upstream[r["mode"]]
    ok = "" if r["bound"] == r["pods"] else f"  ({r['bound']} of {r['pods']} bound)"
    print(f"{what[r['mode']]:<24}{r['nodes']:>6}{r['pods_per_s']:>9.0f}{r['cycle_us']:>7.0f}us"
          f"{r['rate']:>4}/s"
          f"{r['p50_ms']:>7.0f}ms{r['p99_ms']:>7.0f}ms{r['rss_kb'] // 1024:>6} MiB   "
          f"{name} {floor} pods/s{ok}")
print("pods/s: 5,000 pending pods bound from a standing start (after the informers' list);"
      " decide: CPU for filters and scores per pod;\np50/p99: create to bound for 1,000 more"
      " pods arriving at the rate shown; goal: >= 1,000 pods/s for plain pods on 1,000 nodes")
PY
exit $rc
