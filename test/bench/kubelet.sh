# kubelet: pod start latency through `tug server` (API create to Running and Ready, seen by a
# watcher), 1 pod at a time and 30 at once, side by side with the floor: RunPodSandbox +
# CreateContainer + StartContainer called straight on the same containerd with the same
# tug-cni network (cri_bench). Then tug's RSS with the 30 pods running and its idle CPU.
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
	rm -rf "$tmp"
}
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

echo "# tug: API create -> Running+Ready seen by a watcher (pods with nodeName set)"
python3 test/tools/pod_latency.py --server "https://127.0.0.1:$port" \
	--token-file "$tmp/d/server/admin-token" --image docker.io/library/tkbb-busybox:1 \
	--node tkbb-node --rounds "$ROUNDS" --pods "$PODS" --keep | tee "$tmp/tug.out" || exit 1
$K get pods -o jsonpath='{range .items[*]}{.metadata.uid}{"\n"}{end}' >"$tmp/uids"
sleep 5 # the status writes of the last pods settle
rss=$(rss_kb "$pid")
c0=$(cpu_ticks "$pid")
sleep 20
c1=$(cpu_ticks "$pid")
idle=$(awk -v a="$c0" -v b="$c1" -v clk="$CLK" 'BEGIN {printf "%.2f", (b - a) * 100 / clk / 20}')
running=$($K get pods --no-headers 2>/dev/null | grep -c Running)
echo "tug RSS: $((rss_idle / 1024)) MiB with no pods, $((rss / 1024)) MiB with $running pods running; idle CPU ${idle}% of a core (20 s)"

# the floor, on the same containerd binary and configuration, with tug's CNI conflist
$K delete pods --all --grace-period=0 --timeout=120s >/dev/null 2>&1
kill "$pid"
wait "$pid"
pid=
echo "# floor: RunPodSandbox + CreateContainer + StartContainer straight on containerd (tug-cni)"
"$B/tools/cri_bench" --data-dir "$tmp/f" --image docker.io/library/tkbb-busybox:1 \
	--import "$B/images/pause.tar" --import "$tmp/d/images/busybox.tar" --pods "$tmp/pods" \
	--cni-bin "$tmp/d/cni/bin" --cni-conf "$tmp/d/cni/net.d" --rounds "$ROUNDS" \
	--concurrent "$PODS" 2>"$tmp/floor.err" | tee "$tmp/floor.out" || { tail -20 "$tmp/floor.err"; exit 1; }

t1=$(jq -r .one_pod_ms "$(tail -1 "$tmp/tug.out" >"$tmp/t.json"; echo "$tmp/t.json")")
tp50=$(jq -r .concurrent.p50_ms "$tmp/t.json")
tmax=$(jq -r .concurrent.max_ms "$tmp/t.json")
tail -1 "$tmp/floor.out" >"$tmp/f.json"
f1=$(jq -r .one_pod_ms.total "$tmp/f.json")
fp50=$(jq -r .concurrent.p50_ms "$tmp/f.json")
fmax=$(jq -r .concurrent.max_ms "$tmp/f.json")
awk -v t1="$t1" -v f1="$f1" -v tp="$tp50" -v fp="$fp50" -v tm="$tmax" -v fm="$fmax" -v n="$PODS" 'BEGIN {
	printf "1 pod:     tug %.1f ms, floor %.1f ms: %.2fx (+%.1f ms)\n", t1, f1, t1 / f1, t1 - f1
	printf "%d at once: p50 tug %.0f ms, floor %.0f ms: %.2fx; max tug %.0f ms, floor %.0f ms: %.2fx\n", n, tp, fp, tp / fp, tm, fm, tm / fm
}'
printf '{"bench":"kubelet","one_pod_ms":{"tug":%s,"floor":%s},"concurrent":{"pods":%s,"p50_ms":{"tug":%s,"floor":%s},"max_ms":{"tug":%s,"floor":%s}},"rss_kib":{"idle":%s,"pods_running":%s},"idle_cpu_pct":%s}\n' \
	"$t1" "$f1" "$PODS" "$tp50" "$fp50" "$tmax" "$fmax" "$rss_idle" "$rss" "$idle"
