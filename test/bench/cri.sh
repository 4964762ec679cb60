# cri: the floor for pod start latency: RunPodSandbox + CreateContainer + StartContainer
# straight to a private containerd (reference CNI bridge tcri0, or host network with
# CRI_BENCH_NET=host), 1 pod at a time and 30 at once. Prints figures and one JSON line.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
B=build/bench
make -s O=$B x86_64_defconfig >/dev/null && make -s -j"$(nproc)" O=$B tools images $B/host/mkoci >/dev/null || exit 1
tmp=$(mktemp -d /tmp/tug-cri-bench-XXXXXX)
cleanup() {
	grep -o " $tmp[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	ip link del tcri0 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
links=()
for a in sh sleep; do links+=("bin/$a@busybox"); done
"$B/host/mkoci" -o "$tmp/busybox.tar" -n docker.io/library/tcri-busybox:1 -a amd64 \
	"$(command -v busybox)=bin/busybox" "${links[@]}" || exit 1
mkdir -p "$tmp/net.d" "$tmp/pods"
cat >"$tmp/net.d/10-tcri.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "tcri", "plugins": [
 {"type": "bridge", "bridge": "tcri0", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.251.0.0/24"}]],
           "dataDir": "$tmp/ipam"}}]}
JSON
net=()
[ "${CRI_BENCH_NET:-}" = host ] && net=(--host-network)
"$B/tools/cri_bench" --data-dir "$tmp/d" --image docker.io/library/tcri-busybox:1 \
	--import "$B/images/pause.tar" --import "$tmp/busybox.tar" --pods "$tmp/pods" \
	--cni-bin /usr/lib/cni --cni-conf "$tmp/net.d" --rounds "${CRI_BENCH_ROUNDS:-5}" \
	--concurrent "${CRI_BENCH_PODS:-30}" "${net[@]}" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || tail -20 "$tmp/err"
exit $rc
