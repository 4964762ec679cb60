# cni: ADD+DEL cycle time and peak memory of tug-cni against Debian's reference bridge +
# host-local plugins, in one run on this machine, each in its own network namespaces.
# CYCLES (default 100) and TRACED (default 10, the runs memory is read from) set the samples.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
B=build/bench
REF=${REF_CNI_DIR:-/usr/lib/cni}
if [ "$(id -u)" -ne 0 ]; then
	echo "cni: needs root (network namespaces); skipped"
	exit 0
fi
if [ ! -x "$REF/bridge" ] || [ ! -x "$REF/host-local" ]; then
	echo "cni: reference plugins not found in $REF (containernetworking-plugins); skipped"
	exit 0
fi
# The release build: -Os, LTO, stripped, as boards run it.
make -s O=$B x86_64_defconfig >/dev/null && make -s -j"$(nproc)" O=$B tug $B/tools/cni-bench >/dev/null || exit 1
TUG=$TOP/$B/tug-cni
tmp=$(mktemp -d /tmp/tug-cni-bench.XXXXXX)
ns=tcni-bench-$$
cleanup() {
	for n in node pt pr; do ip netns del "$ns-$n" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 130" INT TERM # so that the EXIT trap runs on these too
for n in node pt pr; do ip netns add "$ns-$n" || exit 1; done
mkdir -p "$tmp/bin"
ln -s "$TUG" "$tmp/bin/tug-cni"

# The same network both ways: one IPv4 /24, a gateway on a bridge, hairpin on, no masquerade.
cat >"$tmp/tug.json" <<JSON
{"cniVersion":"1.0.0","name":"tcnibench","type":"tug-cni","bridge":"tcnibt0","mtu":1500,
 "hairpinMode":true,"ipMasq":false,"dataDir":"$tmp/tug-data",
 "ranges":[{"subnet":"10.250.200.0/24"}]}
JSON
cat >"$tmp/ref.json" <<JSON
{"cniVersion":"1.0.0","name":"tcnibenchref","type":"bridge","bridge":"tcnibr0","mtu":1500,
 "isGateway":true,"hairpinMode":true,"ipMasq":false,
 "ipam":{"type":"host-local","dataDir":"$tmp/ref-data",
         "ranges":[[{"subnet":"10.250.201.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}}
JSON
"$B/tools/cni-bench" --node-netns "/run/netns/$ns-node" \
	--cycles "${CYCLES:-100}" --warmup 5 --traced "${TRACED:-10}" \
	--plugin "tug-cni,$tmp/bin/tug-cni,$tmp/tug.json,/run/netns/$ns-pt" \
	--plugin "reference,$REF/bridge,$tmp/ref.json,/run/netns/$ns-pr"
