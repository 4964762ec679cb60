# kubelet: pod start latency through `tug server` (API create to Running and Ready, seen by a
# watcher), 1 pod at a time and 30 at once, side by side with the floor: RunPodSandbox +
# CreateContainer + StartContainer called straight on the same containerd with the same
# tug-cni network (cri_bench), the two taking turns. Then tug's RSS with the 30 pods running and
# its idle CPU.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
B=build/bench
make -s O=$B x86_64_defconfig >/dev/null && make -s -j2 O=$B tug images $B/tools/cri_bench $B/tools/cri_clean $B/host/mkoci >/dev/null || exit 1
. test/bench/lib.sh
PODS=${KUBELET_BENCH_PODS:-30}
ROUNDS=${KUBELET_BENCH_ROUNDS:-5}
tmp=$(mktemp -d /tmp/tug-kubelet-bench-XXXXXX)
net=$((RANDOM % 200 + 20))
br=tkbb$net
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		[ -S "$tmp/d/run/containerd/containerd.sock" ] &&
			"$B/tools/cri_clean" "unix://$tmp/d/run/containerd/containerd.sock" >/dev/null 2>&1
		kill "$pid"
		wait "$pid"
	fi
	for u in $(cat "$tmp/uids" 2>/dev/null); do rm -rf /var/log/pods/*_"$u"; done
	grep -o " $tmp[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	ip link del "$br" 2>/dev/null
	nft delete table inet "tug-cni-$br" 2>/dev/null
	# the server's masquerade of pod traffic (net/routes), unless a tug here had it before us
	[ -n "$routes_before" ] || nft delete table inet tug-routes 2>/dev/null
	rm -rf "$tmp"
}
routes_before=$(nft list table inet tug-routes 2>/dev/null | head -1)
trap cleanup EXIT

mkdir -p "$tmp/d/images" "$tmp/pods"
"$B/host/mkoci" -o "$tmp/d/images/busybox.tar" -n docker.io/library/tkbb-busybox:1 -a amd64 \
	"$(command -v busybox)=bin/busybox" bin/sh@busybox bin/sleep@busybox >/dev/null || exit 1
port=$(free_port)
"$B/tug" server --data-dir "$tmp/d" --volatile-dir "$tmp/vol" --bind-address 127.0.0.1 \
	--https-listen-port "$port" --write-kubeconfig "$tmp/kubeconfig" --node-name tkbb-node \
	--cluster-cidr "10.253.$net.0/24" --cni-bridge "$br" >"$tmp/log" 2>&1 &
pid=$!
K="kubectl --kubeconfig $tmp/kubeconfig"
for _ in $(seq 120); do
	[ "$($K get node tkbb-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] && break
	sleep 0.5
done
if [ "$($K get node tkbb-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" != True ]; then
	echo "the node did not become Ready"
	tail -20 "$tmp/log"
	exit 1
fi
rss_idle=$(rss_kb "$pid")

# Pods start CPU-bound on a small board (containerd, runc and the shims take the cores), so
# other work on the machine moves a 30-pod figure by tens of percent from one minute to the
# next. The two sides therefore take turns, REPEAT times each, and the medians are compared.
REPEAT=${KUBELET_BENCH_REPEAT:-3}
# The kernel frees the last turn's namespaces and cgroups for a while after they are gone.
SETTLE=${KUBELET_BENCH_SETTLE:-10}
cd_pid() { pgrep -P "$pid" -x containerd | head -1; } # the containerd tug runs
lat() { # lat ROUND: tug's run; the first keeps its 30 pods running
	local keep= c0 c1 d0 d1
	[ "$1" = 1 ] && keep=--keep
	c0=$(cpu_ticks "$pid")
	d0=$(cpu_ticks "$(cd_pid)")
	python3 test/tools/pod_latency.py --server "https://127.0.0.1:$port" \
		--token-file "$tmp/d/server/admin-token" --image docker.io/library/tkbb-busybox:1 \
		--node tkbb-node --rounds "$ROUNDS" --pods "$PODS" $keep | tee "$tmp/tug.$1.out" || exit 1
	tail -1 "$tmp/tug.$1.out" >"$tmp/tug.$1.json"
	# what tug itself (API server, kubelet, controllers) and its containerd used for the turn
	c1=$(cpu_ticks "$pid")
	d1=$(cpu_ticks "$(cd_pid)")
	echo "$(((c1 - c0) * 1000 / CLK)) $(((d1 - d0) * 1000 / CLK))" >"$tmp/cpu.$1"
	echo "CPU of the turn: tug $(((c1 - c0) * 1000 / CLK)) ms, its containerd $(((d1 - d0) * 1000 / CLK)) ms"
}
gone() { # waits until tug has stopped every pod and removed its sandbox
	for _ in $(seq 240); do
		[ -z "$($K get pods -o name 2>/dev/null)" ] && return 0
		sleep 0.5
	done
	echo "pods still there after 120 s"
	exit 1
}
floor() { # floor ROUND: RunPodSandbox + CreateContainer + StartContainer straight on containerd,
	# a fresh instance each time (one restarted on the last turn's state ran up to 2x slower)
	"$B/tools/cri_bench" --data-dir "$tmp/f$1" --image docker.io/library/tkbb-busybox:1 \
		--import "$B/images/pause.tar" --import "$tmp/d/images/busybox.tar" --pods "$tmp/pods" \
		--cni-bin "$tmp/d/cni/bin" --cni-conf "$tmp/d/cni/net.d" \
		--rounds "$ROUNDS" \
		--concurrent "$PODS" 2>"$tmp/floor.err" | tee "$tmp/floor.$1.out" || { tail -20 "$tmp/floor.err"; exit 1; }
	tail -1 "$tmp/floor.$1.out" >"$tmp/floor.$1.json"
}

for r in $(seq "$REPEAT"); do
	sleep "$SETTLE"
	echo "# round $r of $REPEAT, tug: API create -> Running+Ready seen by a watcher (pods with nodeName set)"
	lat "$r"
	if [ "$r" = 1 ]; then
		$K get pods -o jsonpath='{range .items[*]}{.metadata.uid}{"\n"}{end}' >"$tmp/uids"
		sleep 5 # the status writes of the last pods settle
		rss=$(rss_kb "$pid")
		c0=$(cpu_ticks "$pid")
		sleep 20
		c1=$(cpu_ticks "$pid")
		idle=$(awk -v a="$c0" -v b="$c1" -v clk="$CLK" 'BEGIN {printf "%.2f", (b - a) * 100 / clk / 20}')
		running=$($K get pods --no-headers 2>/dev/null | grep -c Running)
		echo "tug RSS: $((rss_idle / 1024)) MiB with no pods, $((rss / 1024)) MiB with $running pods running; idle CPU ${idle}% of a core (20 s)"
		$K delete pods --all --grace-period=0 --timeout=120s >/dev/null 2>&1
	fi
	gone
	# the same containerd binary and configuration (its own instance), with tug's CNI conflist
	sleep "$SETTLE"
	echo "# round $r of $REPEAT, floor: RunPodSandbox + CreateContainer + StartContainer straight on containerd (tug-cni)"
	floor "$r"
done
kill "$pid"
wait "$pid"
pid=

med() { median $(for r in $(seq "$REPEAT"); do jq -r "$2" "$tmp/$1.$r.json"; done); }
t1=$(med tug .one_pod_ms)
f1=$(med floor .one_pod_ms.total)
tp50=$(med tug .concurrent.p50_ms)
fp50=$(med floor .concurrent.p50_ms)
tmax=$(med tug .concurrent.max_ms)
tcpu=$(median $(for r in $(seq "$REPEAT"); do cut -d' ' -f1 "$tmp/cpu.$r"; done))
dcpu=$(median $(for r in $(seq "$REPEAT"); do cut -d' ' -f2 "$tmp/cpu.$r"; done))
fmax=$(med floor .concurrent.max_ms)
ratios=$(for r in $(seq "$REPEAT"); do
	jq -rn --slurpfile t "$tmp/tug.$r.json" --slurpfile f "$tmp/floor.$r.json" \
		'($t[0].concurrent.p50_ms / $f[0].concurrent.p50_ms * 100 | round) / 100'
done | tr '\n' ' ')
awk -v t1="$t1" -v f1="$f1" -v tp="$tp50" -v fp="$fp50" -v tm="$tmax" -v fm="$fmax" -v n="$PODS" -v k="$REPEAT" -v rs="$ratios" -v tc="$tcpu" -v dc="$dcpu" -v rounds="$ROUNDS" 'BEGIN {
	printf "1 pod, medians of %d turns: tug %.1f ms, floor %.1f ms: %.2fx (%+.1f ms)\n", k, t1, f1, t1 / f1, t1 - f1
	printf "tug CPU per turn (%d single pods, then %d at once), median: %d ms for tug, %d ms for the containerd it runs\n", rounds, n, tc, dc
	printf "%d at once, medians of %d turns: p50 tug %.0f ms, floor %.0f ms: %.2fx (per turn: %s); max tug %.0f ms, floor %.0f ms: %.2fx\n", n, k, tp, fp, tp / fp, rs, tm, fm, tm / fm
}'
printf '{"bench":"kubelet","one_pod_ms":{"tug":%s,"floor":%s},"concurrent":{"pods":%s,"turns":%s,"p50_ms":{"tug":%s,"floor":%s},"max_ms":{"tug":%s,"floor":%s}},"rss_kib":{"idle":%s,"pods_running":%s},"idle_cpu_pct":%s,"turn_cpu_ms":{"tug":%s,"containerd":%s}}\n' \
	"$t1" "$f1" "$PODS" "$REPEAT" "$tp50" "$fp50" "$tmax" "$fmax" "$rss_idle" "$rss" "$idle" "$tcpu" "$dcpu"
