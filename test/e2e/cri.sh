# cri: the CRI client and containerd supervision against a real private containerd and runc:
# images, sandboxes (reference CNI bridge tcri0), containers, exec, stats, deadlines, and a
# containerd killed and restarted under the client. Then `tug server` running containerd.
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
B=${TUG_BUILD:-$TOP/build}
tmp=$(mktemp -d /tmp/tug-cri-XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	# containerd leaves overlay mounts and netns only when a run was cut short
	umount_under "$tmp"
	ip link del tcri0 2>/dev/null
	ip link del tcri1 2>/dev/null
	drop_routes_table
	rm -rf "$tmp"
}
trap cleanup EXIT

# The test image: Debian's static busybox (busybox-static) with a few applet links.
need_containerd
links=()
for a in sh echo cat sleep ls true false env; do links+=("bin/$a@busybox"); done
"$B/host/mkoci" -o "$tmp/busybox.tar" -n docker.io/library/tcri-busybox:1 -a amd64 \
	-c sh "$BUSYBOX=bin/busybox" "${links[@]}"
check "mkoci packs the busybox test image" test -s "$tmp/busybox.tar"
check "the pause image was built" test -s "$B/images/pause.tar"

# Reference CNI plugins, bridge tcri0 on 10.251.0.0/24, IPAM state in the temp dir.
mkdir -p "$tmp/net.d" "$tmp/pods"
cat >"$tmp/net.d/10-tcri.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "tcri", "plugins": [
 {"type": "bridge", "bridge": "tcri0", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.251.0.0/24"}]],
           "dataDir": "$tmp/ipam"}}]}
JSON

"$B/tools/cri_check" --data-dir "$tmp/d" --image docker.io/library/tcri-busybox:1 \
	--import "$B/images/pause.tar" --import "$tmp/busybox.tar" --pods "$tmp/pods" \
	--cni-bin /usr/lib/cni --cni-conf "$tmp/net.d" 2>"$tmp/check.err"
rc=$?
check "cri_check exits 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { tail -20 "$tmp/check.err"; tail -20 "$tmp/d/containerd/containerd.log"; }
grep '^# ' "$tmp/check.err"
check "the generated config restricts oom_score_adj" grep -q 'restrict_oom_score_adj = true' "$tmp/d/containerd/config.toml"

# The same through CRI with tug-cni as the only network plugin, in the conflist shape
# cni_write_conflist writes (containerd 1.6 knows results up to 1.0.0). containerd's CRI sets up
# every pod's lo with a plugin named loopback: that is tug-cni too.
if grep -q 'CONFIG_TUG_CNI=y' "$B/.config" 2>/dev/null; then
	mkdir -p "$tmp/tbin" "$tmp/tnet.d" "$tmp/tpods"
	ln -s "$B/tug-cni" "$tmp/tbin/tug-cni"
	ln -s "$B/tug-cni" "$tmp/tbin/loopback"
	cat >"$tmp/tnet.d/10-tcrit.conflist" <<JSON
{"cniVersion": "1.0.0", "cniVersions": ["1.0.0", "1.1.0"], "name": "tcrit", "plugins": [
 {"type": "tug-cni", "bridge": "tcri1", "dataDir": "$tmp/tcni", "hairpinMode": true,
  "ranges": [{"subnet": "10.251.1.0/24"}]}]}
JSON
	"$B/tools/cri_check" --data-dir "$tmp/t" --image docker.io/library/tcri-busybox:1 \
		--import "$B/images/pause.tar" --import "$tmp/busybox.tar" --pods "$tmp/tpods" \
		--cni-bin "$tmp/tbin" --cni-conf "$tmp/tnet.d" --pod-ip-prefix 10.251.1. \
		2>"$tmp/tcheck.err" | sed 's/^\(not \)\{0,1\}ok - cri: /&tug-cni: /'
	rc=${PIPESTATUS[0]}
	check "cri_check with tug-cni exits 0" test "$rc" -eq 0
	[ "$rc" -eq 0 ] || { tail -20 "$tmp/tcheck.err"; tail -20 "$tmp/t/containerd/containerd.log"; }
	check "tug-cni leased the sandbox's address" grep -q '^lease 10.251.1.' "$tmp/tcni/tcrit/leases"
	# replaying the lease log: every lease was freed again
	live=$(awk '$1=="lease"{o[$2]=1} $1=="free"{delete o[$2]} END{print length(o)}' "$tmp/tcni/tcrit/leases" 2>/dev/null)
	check "StopPodSandbox and RemovePodSandbox release the lease" test "$live" = 0
	check "tug-cni made its bridge with the gateway" bash -c "ip -4 addr show dev tcri1 | grep -q 10.251.1.1/24"
fi

# tug server runs its own containerd, restarts it when it dies, and stops it on SIGTERM.
if grep -q 'CONFIG_TUG_KUBELET=y' "$B/.config" 2>/dev/null; then
	# an airgap tarball dropped into <data-dir>/images/ is imported at start
	mkdir -p "$tmp/s/images"
	cp "$tmp/busybox.tar" "$tmp/s/images/"
	"$TUG" server --data-dir "$tmp/s" --https-listen-port $((20000 + RANDOM % 20000)) \
		--write-kubeconfig "$tmp/s.kubeconfig" \
		2>"$tmp/server.log" &
	srv=$!
	for _ in $(seq 100); do [ -S "$tmp/s/run/containerd/containerd.sock" ] && break; sleep 0.1; done
	check "tug server starts containerd on its own socket" test -S "$tmp/s/run/containerd/containerd.sock"
	pid1=$(cat "$tmp/s/containerd/containerd.pid" 2>/dev/null)
	check "containerd's pid is recorded" test -n "$pid1"
	[ -n "$pid1" ] && kill -KILL "$pid1"
	pid2=
	for _ in $(seq 100); do
		pid2=$(cat "$tmp/s/containerd/containerd.pid" 2>/dev/null)
		[ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && break
		sleep 0.1
	done
	check "a killed containerd is restarted" bash -c "[ -n '$pid2' ] && [ '$pid2' != '$pid1' ] && kill -0 $pid2"
	for _ in $(seq 100); do grep -q 'runtime containerd .* ready' "$tmp/server.log" && break; sleep 0.1; done
	check "the server reaches containerd over CRI" grep -q 'runtime containerd .* ready' "$tmp/server.log"
	for _ in $(seq 100); do grep -q 'images ready' "$tmp/server.log" && break; sleep 0.1; done
	check "the server imports its images at start" grep -q 'images ready: [2-9] imported' "$tmp/server.log"
	"$B/tools/cri_check" --endpoint "unix://$tmp/s/run/containerd/containerd.sock" \
		--expect-image docker.io/tug/pause:1 --expect-image docker.io/library/tcri-busybox:1 2>/dev/null
	kill -TERM "$srv"
	wait "$srv"
	rc=$?
	srv=
	check "the server stops with status 0" test "$rc" -eq 0
	check "containerd stopped with the server" bash -c "! kill -0 $pid2 2>/dev/null"

	# --container-runtime-endpoint: no containerd of our own, the given one is used
	"$TUG" server --data-dir "$tmp/x" --https-listen-port $((20000 + RANDOM % 20000)) \
		--write-kubeconfig "$tmp/x.kubeconfig" \
		--container-runtime-endpoint "unix://$tmp/none.sock" 2>"$tmp/x.log" &
	srv=$!
	for _ in $(seq 150); do grep -q 'not answering yet' "$tmp/x.log" && break; sleep 0.1; done
	check "with --container-runtime-endpoint the server uses that runtime" \
		grep -q "runtime at unix://$tmp/none.sock not answering yet" "$tmp/x.log"
	check "and runs no containerd of its own" bash -c "! grep -q 'started containerd' '$tmp/x.log' && [ ! -e '$tmp/x/containerd' ]"
	kill -TERM "$srv"
	wait "$srv"
	srv=
fi
finish
