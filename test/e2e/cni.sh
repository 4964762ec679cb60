# cni: tug-cni and net/routes in network namespaces this test makes: ADD/CHECK/DEL on many pods,
# pings over the bridge, DEL twice and without a namespace, 50 ADDs at once, errors, STATUS, GC,
# masquerade, hostPorts (portMappings) beside the reference portmap plugin, the reference bridge + host-local plugins side by side, and two nodes joined by a
# link with routes between their pod CIDRs. Every bridge, address and nft table lives inside a
# node namespace of ours (tcni-<pid>-*); deleting the namespaces cleans everything up.
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
TOOLS=${TUG_BUILD:-$TOP/build}/tools
REF=/usr/lib/cni

if [ "$(id -u)" -ne 0 ]; then
	skip "network namespaces need root"
	finish
	exit
fi

P=tcni-$$ # namespaces
B=tcni$$  # bridges (<= 15 characters with one letter more)
T=tug_test_cni_$$
tmp=$(mktemp -d /tmp/tug-cni-e2e.XXXXXX)
mkdir -p "$tmp/bin" "$tmp/out"
# The small tug-cni executable the build makes beside tug; tug itself answers to the name too.
CNI_BIN=${TUG_BUILD:-$(dirname "$TUG")}/tug-cni
[ -x "$CNI_BIN" ] || CNI_BIN=$TUG
ln -s "$CNI_BIN" "$tmp/bin/tug-cni"
ln -s "$CNI_BIN" "$tmp/bin/loopback"
bg=()
cleanup() {
	for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
	for n in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$n"; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 130" INT TERM # so that the EXIT trap runs on these too

ns() { ip netns add "$P-$1"; }
in_ns() { # in_ns NAME command...: runs a command inside one of our namespaces
	local n=$1
	shift
	nsenter --net="/run/netns/$P-$n" "$@"
}

# plugin NODE CMD ID POD CONF [IFNAME]: runs tug-cni as a runtime does, inside node namespace
# NODE (the plugin's host) for pod namespace POD ("" for none). stdout goes to $tmp/out/ID.CMD.
plugin() {
	local node=$1 cmd=$2 id=$3 pod=$4 conf=$5 ifn=${6:-eth0} bin=${PLUGIN:-$tmp/bin/tug-cni}
	in_ns "$node" env -i PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" \
		${pod:+CNI_NETNS=/run/netns/$P-$pod} CNI_IFNAME="$ifn" CNI_PATH="$(dirname "$bin")" \
		"$bin" <"$conf" >"$tmp/out/$id.$cmd" 2>>"$tmp/stderr${PLUGIN:+.ref}"
}
out() { cat "$tmp/out/$1.$2"; }
jqe() { jq -e "$@" >/dev/null; } # passes when the filter yields true
# code ID CMD: the error code a failed command answered
code() { jq -r .code "$tmp/out/$1.$2" 2>/dev/null; }

# mkconf FILE NAME BRIDGE RANGES [EXTRA]: a network configuration as the runtime passes it
mkconf() {
	printf '{"cniVersion":"%s","name":"%s","type":"tug-cni","bridge":"%s","dataDir":"%s","ranges":%s%s}\n' \
		"${V:-1.0.0}" "$2" "$3" "$tmp/data" "$4" "${5:+,$5}" >"$1"
}
# with_prev CONF RESULT OUT: the configuration CHECK and DEL get, with ADD's result as prevResult
with_prev() { jq --slurpfile r "$2" '. + {prevResult: $r[0]}' "$1" >"$3"; }
# leases NETWORK: "address container ifname" for every live lease, replaying the lease log
leases() {
	awk '$1=="lease"{o[$2]=$3" "$4} $1=="free"{delete o[$2]} END{for (a in o) print a, o[a]}' \
		"$tmp/data/$1/leases" 2>/dev/null
}
# leased NETWORK ID: does container ID hold a lease?
leased() { leases "$1" | grep -q " $2 eth0\$"; }
not() { ! "$@"; }
# wait_for COND: polls a shell condition for up to 10 s
wait_for() { for _ in $(seq 100); do bash -c "$1" && return 0; sleep 0.1; done; return 1; }
pod_addrs() { in_ns "$1" ip -j addr show dev "${2:-eth0}" 2>/dev/null | jq -r '.[0].addr_info[] | select(.scope=="global") | "\(.local)/\(.prefixlen)"'; }
result_addrs() { jq -r '.ips[].address' "$1"; }
# ping_ok POD ADDR: one reply within 5 s; pings every 0.2 s meanwhile, so a first packet lost
# to neighbour discovery on a busy machine does not fail the test.
ping_ok() { in_ns "$1" ping -c 1 -w 5 -i 0.2 "$2" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
# One node, dual stack: what a pod gets
ns n1
mkconf "$tmp/a.json" tcnia "${B}a" '[{"subnet":"10.250.1.0/24"},{"subnet":"fd00:250::1:0/112"}]'

echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$tmp/bin/tug-cni" >"$tmp/version"
check "VERSION lists 1.0.0 and 1.1.0" jqe '.supportedVersions | index("1.0.0") and index("1.1.0")' "$tmp/version"
check "the build makes tug-cni its own executable" test "$CNI_BIN" != "$TUG"
check "tug-cni needs none of tug's other libraries" bash -c "! ldd '$CNI_BIN' | grep -Eq 'mbed|lmdb|yaml|nghttp2|protobuf'"
mkdir -p "$tmp/mbin" && ln -s "$TUG" "$tmp/mbin/tug-cni"
echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$tmp/mbin/tug-cni" >"$tmp/version.multi"
check "tug itself called as tug-cni answers the same" cmp -s "$tmp/version" "$tmp/version.multi"

ns a1
plugin n1 ADD a1 a1 "$tmp/a.json"
check "ADD succeeds" test $? -eq 0
cp "$tmp/out/a1.ADD" "$tmp/a1.first"
check "ADD answers the bridge, the host veth and eth0 inside the pod" jqe --arg ns "/run/netns/$P-a1" \
	'(.interfaces|length)==3 and .interfaces[0].name=="'"${B}a"'" and .interfaces[2].name=="eth0" and .interfaces[2].sandbox==$ns and (.interfaces[1]|has("sandbox")|not)' "$tmp/out/a1.ADD"
check "ADD answers an IPv4 and an IPv6 address on eth0 with their gateways" jqe \
	'(.ips|length)==2 and all(.ips[]; .interface==2) and (.ips[0].address|startswith("10.250.1.")) and .ips[0].gateway=="10.250.1.1" and (.ips[1].address|startswith("fd00:250::1:")) and .ips[1].gateway=="fd00:250::1:1"' "$tmp/out/a1.ADD"
check "ADD answers default routes for both families" jqe '[.routes[].dst]==["0.0.0.0/0","::/0"]' "$tmp/out/a1.ADD"
check "the pod's eth0 has the addresses ADD answered" \
	test "$(pod_addrs a1 | sort)" = "$(result_addrs "$tmp/out/a1.ADD" | sort)"
check "the pod routes IPv4 via the gateway" bash -c "nsenter --net=/run/netns/$P-a1 ip route show default | grep -q 'via 10.250.1.1 dev eth0'"
check "the pod routes IPv6 via the gateway" bash -c "nsenter --net=/run/netns/$P-a1 ip -6 route show default | grep -q 'via fd00:250::1:1 dev eth0'"
check "the pod's lo is up" bash -c "nsenter --net=/run/netns/$P-a1 ip -j link show lo | jq -e '.[0].flags | index(\"UP\")' >/dev/null"
check "the bridge holds both gateway addresses" bash -c "[ \"\$(nsenter --net=/run/netns/$P-n1 ip -j addr show ${B}a | jq -r '[.[0].addr_info[]|select(.scope==\"global\")|.local]|sort|join(\" \")')\" = '10.250.1.1 fd00:250::1:1' ]"
veth=$(jq -r '.interfaces[1].name' "$tmp/out/a1.ADD")
check "the host veth is a bridge port in hairpin mode, named after its pod" bash -c \
	"nsenter --net=/run/netns/$P-n1 ip -d -j link show dev $veth | jq -e '.[0].linkinfo.info_slave_kind==\"bridge\" and .[0].linkinfo.info_slave_data.hairpin==true and .[0].ifalias==\"tug-cni/tcnia/a1/eth0\"' >/dev/null"
with_prev "$tmp/a.json" "$tmp/out/a1.ADD" "$tmp/a1.prev"
plugin n1 CHECK a1 a1 "$tmp/a1.prev"
check "CHECK right after ADD succeeds and prints nothing" bash -c "[ $? -eq 0 ] && [ ! -s $tmp/out/a1.CHECK ]"

# Seven more pods: all checked, all different.
ok_all=0
for i in 2 3 4 5 6 7 8; do
	ns "a$i"
	plugin n1 ADD "a$i" "a$i" "$tmp/a.json" && with_prev "$tmp/a.json" "$tmp/out/a$i.ADD" "$tmp/a$i.prev" &&
		plugin n1 CHECK "a$i" "a$i" "$tmp/a$i.prev" && ok_all=$((ok_all + 1))
done
check "ADD then CHECK succeed on seven more pods" test "$ok_all" -eq 7
check "eight pods hold sixteen different addresses" \
	test "$(for i in 1 2 3 4 5 6 7 8; do result_addrs "$tmp/out/a$i.ADD"; done | sort -u | wc -l)" -eq 16
check "no pod got the network, gateway or last address" bash -c \
	"! cat $tmp/out/a?.ADD | jq -r '.ips[].address' | grep -E '^(10\.250\.1\.(0|1|255)|fd00:250::1:(0|1|ffff))/'"
a2=$(jq -r '.ips[0].address' "$tmp/out/a2.ADD" | cut -d/ -f1)
a2v6=$(jq -r '.ips[1].address' "$tmp/out/a2.ADD" | cut -d/ -f1)
check "a pod pings another over the bridge (IPv4)" ping_ok a1 "$a2"
check "a pod pings another over the bridge (IPv6)" ping_ok a1 "$a2v6"
check "a pod pings its gateway" ping_ok a1 10.250.1.1

# ADD twice without DEL: refused, and the first pod keeps its address.
plugin n1 ADD a1 a1 "$tmp/a.json"
check "a second ADD of the same attachment fails" test $? -ne 0
check "... with the spec's error object" jqe '.code==100 and (.details|contains("eth0 already exists"))' "$tmp/out/a1.ADD"
check "... and the first pod keeps its lease" leased tcnia a1
check "... and its network" ping_ok a1 "$a2"

# CHECK notices what changed under it.
in_ns a3 ip addr del "$(jq -r '.ips[0].address' "$tmp/out/a3.ADD")" dev eth0
plugin n1 CHECK a3 a3 "$tmp/a3.prev"
check "CHECK fails when the pod lost its address" bash -c "[ \"\$(jq -r .code $tmp/out/a3.CHECK)\" = 101 ] && jq -e '.details|contains(\"missing\")' $tmp/out/a3.CHECK >/dev/null"
in_ns a3 ip link del eth0
plugin n1 CHECK a3 a3 "$tmp/a3.prev"
check "CHECK fails when eth0 is gone" jqe '.code==101 and (.details|contains("eth0 is missing"))' "$tmp/out/a3.CHECK"
plugin n1 CHECK a5 a5 "$tmp/a1.prev"
check "CHECK fails when prevResult is not this attachment's" test "$(code a5 CHECK)" = 101

# DEL
veth2=$(jq -r '.interfaces[1].name' "$tmp/out/a2.ADD")
plugin n1 DEL a2 a2 "$tmp/a2.prev"
check "DEL succeeds" test $? -eq 0
check "DEL removes eth0 from the pod" bash -c "! nsenter --net=/run/netns/$P-a2 ip link show eth0 2>/dev/null"
check "DEL removes the host veth" bash -c "! nsenter --net=/run/netns/$P-n1 ip link show $veth2 2>/dev/null"
check "DEL releases the lease" not leased tcnia a2
plugin n1 DEL a2 a2 "$tmp/a2.prev"
check "DEL twice succeeds" test $? -eq 0
plugin n1 DEL a3 a3 "$tmp/a3.prev"
check "DEL after eth0 vanished succeeds" test $? -eq 0
check "... and releases the lease" not leased tcnia a3
veth4=$(jq -r '.interfaces[1].name' "$tmp/out/a4.ADD")
ip netns del "$P-a4"
plugin n1 DEL a4 a4 "$tmp/a4.prev"
check "DEL after the namespace is gone succeeds" test $? -eq 0
check "... and releases the lease" not leased tcnia a4
gone=1
for _ in $(seq 50); do in_ns n1 ip link show "$veth4" >/dev/null 2>&1 || { gone=0; break; }; sleep 0.1; done
check "... and the host veth goes with the namespace" test $gone -eq 0
plugin n1 DEL nosuch "" "$tmp/a.json"
check "DEL of an unknown container, without a namespace, succeeds quietly" bash -c "[ $? -eq 0 ] && [ ! -s $tmp/out/nosuch.DEL ]"
plugin n1 ADD a2 a2 "$tmp/a.json"
check "ADD after DEL in the same namespace works again" test $? -eq 0

# ---------------------------------------------------------------------------------------------
# Errors a runtime can meet
plugin n1 ADD e1 nosuchpod "$tmp/a.json"
check "ADD into a missing namespace answers code 3" jqe '.code==3 and (.details|contains("does not exist"))' "$tmp/out/e1.ADD"
check "... and leaves no lease behind" not leased tcnia e1
echo '{"cniVersion":"1.0.0","name":"x","ranges":[{"subnet":"10.250.1.0/33"}]}' >"$tmp/bad.json"
ns e2
plugin n1 ADD e2 e2 "$tmp/bad.json"
check "ADD with a bad range answers code 7 naming it" jqe '.code==7 and (.details|contains("10.250.1.0/33"))' "$tmp/out/e2.ADD"
in_ns n1 env -i CNI_COMMAND=ADD CNI_IFNAME=eth0 "$tmp/bin/tug-cni" <"$tmp/a.json" >"$tmp/out/e3" 2>/dev/null
check "ADD without CNI_CONTAINERID and CNI_NETNS answers code 4 naming them" \
	jqe '.code==4 and (.details|contains("CNI_CONTAINERID")) and (.details|contains("CNI_NETNS"))' "$tmp/out/e3"
echo 'not json' >"$tmp/junk.json"
plugin n1 ADD e2 e2 "$tmp/junk.json"
check "ADD with a config that is not JSON answers code 6" test "$(code e2 ADD)" = 6

V=1.1.0 mkconf "$tmp/x.json" tcnix "${B}x" '[{"subnet":"10.250.2.0/30"}]'
ns x1
ns x2
plugin n1 ADD x1 x1 "$tmp/x.json"
check "a /30 leases its one address" jqe '.ips[0].address=="10.250.2.2/30"' "$tmp/out/x1.ADD"
plugin n1 ADD x2 x2 "$tmp/x.json"
check "ADD on a full range answers code 11 naming the range" jqe '.code==11 and (.details|contains("10.250.2.0/30"))' "$tmp/out/x2.ADD"
check "... and creates nothing in the pod" bash -c "! nsenter --net=/run/netns/$P-x2 ip link show eth0 2>/dev/null"
plugin n1 STATUS "" "" "$tmp/x.json"
check "STATUS on a full range answers code 50" test "$(out "" STATUS | jq -r .code)" = 50
plugin n1 DEL x1 x1 "$tmp/x.json"
plugin n1 STATUS "" "" "$tmp/x.json"
check "STATUS succeeds once an address is free" bash -c "[ $? -eq 0 ] && [ ! -s '$tmp/out/.STATUS' ]"
plugin n1 ADD x2 x2 "$tmp/x.json"
check "... and ADD gets it" test $? -eq 0

# ---------------------------------------------------------------------------------------------
# 50 ADDs at once, as containerd starts pods in parallel
for i in $(seq 50); do ns "c$i"; done
for i in $(seq 50); do
	plugin n1 ADD "c$i" "c$i" "$tmp/a.json" &
	bg+=($!)
done
fails=0
for p in "${bg[@]}"; do wait "$p" || fails=$((fails + 1)); done
bg=()
check "50 concurrent ADDs all succeed" test $fails -eq 0
check "... with 100 different addresses" test "$(for i in $(seq 50); do result_addrs "$tmp/out/c$i.ADD"; done | sort -u | wc -l)" -eq 100
check "... none shared with the pods already there" \
	test "$(cat "$tmp/a1.first" "$tmp"/out/a[25678].ADD "$tmp"/out/c*.ADD | jq -r '.ips[].address' | sort | uniq -d | wc -l)" -eq 0
mism=0
for i in $(seq 50); do
	[ "$(pod_addrs "c$i" | sort)" = "$(result_addrs "$tmp/out/c$i.ADD" | sort)" ] || mism=$((mism + 1))
done
check "... each pod has exactly the addresses it was told" test $mism -eq 0
for i in $(seq 50); do
	plugin n1 DEL "c$i" "c$i" "$tmp/a.json" &
	bg+=($!)
done
fails=0
for p in "${bg[@]}"; do wait "$p" || fails=$((fails + 1)); done
bg=()
check "50 concurrent DELs all succeed" test $fails -eq 0
check "... and release every lease" test "$(leases tcnia | grep -c ' c[0-9]* eth0')" -eq 0
check "... and leave only the other pods' ports on the bridge" \
	test "$(in_ns n1 ip -j link show master "${B}a" | jq length)" -eq 6

# ---------------------------------------------------------------------------------------------
# An IPv6-only pod CIDR
mkconf "$tmp/s.json" tcnis "${B}s" '[{"subnet":"fd00:250::6:0/112"}]'
ns s1
ns s2
plugin n1 ADD s1 s1 "$tmp/s.json" && plugin n1 ADD s2 s2 "$tmp/s.json"
check "IPv6-only: ADD succeeds" test $? -eq 0
check "... answering one IPv6 address with its gateway and a ::/0 route" jqe \
	'(.ips|length)==1 and (.ips[0].address|startswith("fd00:250::6:")) and .ips[0].gateway=="fd00:250::6:1" and [.routes[].dst]==["::/0"]' "$tmp/out/s1.ADD"
check "... and the pod has no IPv4 address" bash -c "[ -z \"\$(nsenter --net=/run/netns/$P-s1 ip -4 addr show dev eth0)\" ]"
s2a=$(jq -r '.ips[0].address' "$tmp/out/s2.ADD" | cut -d/ -f1)
check "... and pods ping each other" ping_ok s1 "$s2a"
with_prev "$tmp/s.json" "$tmp/out/s1.ADD" "$tmp/s1.prev"
plugin n1 CHECK s1 s1 "$tmp/s1.prev"
check "... CHECK succeeds" test $? -eq 0
with_prev "$tmp/s.json" "$tmp/out/s2.ADD" "$tmp/s2.prev"
plugin n1 DEL s1 s1 "$tmp/s1.prev" && plugin n1 DEL s2 s2 "$tmp/s2.prev"
rc=$?
check "... DEL succeeds and releases both leases" bash -c "[ $rc -eq 0 ] && [ -z \"\$(awk '\$1==\"lease\"{o[\$2]=1} \$1==\"free\"{delete o[\$2]} END{for (a in o) print a}' $tmp/data/tcnis/leases)\" ]"

# ---------------------------------------------------------------------------------------------
# GC (CNI 1.1): everything but the valid attachments goes
V=1.1.0 mkconf "$tmp/g.json" tcnig "${B}g" '[{"subnet":"10.250.3.0/24"}]'
for i in 1 2 3; do
	ns "g$i"
	plugin n1 ADD "g$i" "g$i" "$tmp/g.json"
done
jq '. + {"cni.dev/valid-attachments": [{"containerID": "g1", "ifname": "eth0"}]}' "$tmp/g.json" >"$tmp/g.gc"
plugin n1 GC "" "" "$tmp/g.gc"
check "GC succeeds" test $? -eq 0
check "GC releases the leases of attachments no longer valid" \
	test "$(leases tcnig | awk '{print $2}')" = g1
check "GC removes their links" bash -c "! nsenter --net=/run/netns/$P-g2 ip link show eth0 2>/dev/null && ! nsenter --net=/run/netns/$P-g3 ip link show eth0 2>/dev/null"
with_prev "$tmp/g.json" "$tmp/out/g1.ADD" "$tmp/g1.prev"
plugin n1 CHECK g1 g1 "$tmp/g1.prev"
check "GC leaves the valid attachment working" test $? -eq 0
plugin n1 GC "" "" "$tmp/g.json"
check "GC without the list of valid attachments is refused" test "$(out "" GC | jq -r .code)" = 7

# ---------------------------------------------------------------------------------------------
# Masquerade, MTU and an older spec version
V=0.4.0 mkconf "$tmp/m.json" tcnim "${B}m" '[{"subnet":"10.250.4.0/24"}]' \
	"\"mtu\":1400,\"ipMasq\":true,\"ipMasqTable\":\"$T\",\"clusterCIDRs\":[\"10.250.0.0/20\"]"
ns m1
plugin n1 ADD m1 m1 "$tmp/m.json"
check "a 0.4.0 ADD answers ips with their version" jqe '.cniVersion=="0.4.0" and .ips[0].version=="4"' "$tmp/out/m1.ADD"
check "eth0 and the host veth take the configured MTU" bash -c \
	"[ \"\$(nsenter --net=/run/netns/$P-m1 ip -j link show eth0 | jq .[0].mtu)\" = 1400 ]"
rules=$(in_ns n1 nft list table inet "$T" 2>&1)
check "ipMasq writes the nat table: pod traffic to the cluster keeps its source" \
	grep -q "ip daddr 10.250.0.0/20 return" <<<"$rules"
check "... and the rest is masqueraded" grep -q "ip saddr 10.250.4.0/24 masquerade" <<<"$rules"
with_prev "$tmp/m.json" "$tmp/out/m1.ADD" "$tmp/m1.prev"
plugin n1 CHECK m1 m1 "$tmp/m1.prev"
check "CHECK with ipMasq succeeds" test $? -eq 0
in_ns n1 nft delete table inet "$T"
plugin n1 CHECK m1 m1 "$tmp/m1.prev"
check "CHECK notices the masquerade table is gone" jqe '.code==101 and (.details|contains("ipMasq"))' "$tmp/out/m1.CHECK"

# A plugin earlier in the chain: its result is extended, not replaced.
jq '. + {prevResult: {cniVersion: "1.0.0", interfaces: [{name: "up0", mac: "02:00:00:00:00:01"}],
	ips: [{address: "192.0.2.9/32", interface: 0}], dns: {nameservers: ["10.43.0.10"]}}}' \
	"$tmp/a.json" >"$tmp/chain.json"
ns p1
plugin n1 ADD p1 p1 "$tmp/chain.json"
check "an ADD given a prevResult keeps it and appends its own interfaces and addresses" jqe \
	'(.interfaces|length)==4 and .interfaces[0].name=="up0" and .interfaces[3].name=="eth0" and (.ips|length)==3 and .ips[0].address=="192.0.2.9/32" and .ips[1].interface==3 and .ips[2].interface==3 and .dns.nameservers==["10.43.0.10"]' \
	"$tmp/out/p1.ADD"
with_prev "$tmp/a.json" "$tmp/out/p1.ADD" "$tmp/p1.prev"
plugin n1 CHECK p1 p1 "$tmp/p1.prev"
check "... and CHECK finds its interface in the longer list" test $? -eq 0
plugin n1 DEL p1 p1 "$tmp/p1.prev"

# ---------------------------------------------------------------------------------------------
# Type "loopback": containerd's CRI runs <bin>/loopback for every pod's lo before its network.
echo '{"cniVersion":"1.0.0","name":"cni-loopback","type":"loopback"}' >"$tmp/lo.json"
ns l1
ip -n "$P-l1" link set lo down
PLUGIN=$tmp/bin/loopback plugin n1 ADD l1 l1 "$tmp/lo.json" lo
check "loopback ADD succeeds" test $? -eq 0
check "loopback ADD sets lo up in the pod" bash -c "ip -n '$P-l1' -j link show lo | jq -e '.[0].flags | index(\"UP\")' >/dev/null"
check "loopback ADD answers lo in the pod with 127.0.0.1/8 and ::1/128" jqe --arg ns "/run/netns/$P-l1" \
	'.interfaces==[{name:"lo",mac:"00:00:00:00:00:00",sandbox:$ns}] and ([.ips[].address]|sort)==["127.0.0.1/8","::1/128"] and all(.ips[]; .interface==0)' "$tmp/out/l1.ADD"
check "a pod can reach itself on 127.0.0.1" ping_ok l1 127.0.0.1
PLUGIN=$tmp/bin/loopback plugin n1 CHECK l1 l1 "$tmp/lo.json" lo
check "loopback CHECK succeeds while lo is up" test $? -eq 0
ip -n "$P-l1" link set lo down
PLUGIN=$tmp/bin/loopback plugin n1 CHECK l1 l1 "$tmp/lo.json" lo
check "loopback CHECK fails once lo is down" test "$?:$(code l1 CHECK)" = 1:101
PLUGIN=$tmp/bin/loopback plugin n1 DEL l1 l1 "$tmp/lo.json" lo
check "loopback DEL succeeds" test $? -eq 0
ip netns del "$P-l1"
PLUGIN=$tmp/bin/loopback plugin n1 DEL l1 l1 "$tmp/lo.json" lo
check "loopback DEL succeeds after the namespace is gone" test $? -eq 0
PLUGIN=$tmp/bin/loopback plugin n1 DEL l1 "" "$tmp/lo.json" lo
check "loopback DEL succeeds with no CNI_NETNS (the runtime removed it)" test $? -eq 0
PLUGIN=$tmp/bin/loopback plugin n1 ADD l1 l1 "$tmp/lo.json" lo
check "loopback ADD into a missing namespace fails with code 3" test "$?:$(code l1 ADD)" = 1:3
if [ -x "$REF/loopback" ]; then
	ns l2
	ns l3
	PLUGIN=$tmp/bin/loopback plugin n1 ADD l2 l2 "$tmp/lo.json" lo
	PLUGIN=$REF/loopback plugin n1 ADD l3 l3 "$tmp/lo.json" lo
	jq -S 'del(.interfaces[].sandbox)' "$tmp/out/l2.ADD" >"$tmp/l2.res"
	jq -S 'del(.interfaces[].sandbox)' "$tmp/out/l3.ADD" >"$tmp/l3.res"
	check "loopback ADD answers what the reference loopback plugin does" diff "$tmp/l2.res" "$tmp/l3.res"
	echo '{"cniVersion":"0.4.0","name":"cni-loopback","type":"loopback"}' >"$tmp/lo4.json"
	PLUGIN=$tmp/bin/loopback plugin n1 ADD l2 l2 "$tmp/lo4.json" lo
	PLUGIN=$REF/loopback plugin n1 ADD l3 l3 "$tmp/lo4.json" lo
	# The 0.4.0 spec gives each address its "version", which the reference plugin leaves out.
	check "for cniVersion 0.4.0, loopback ADD names each address's version" \
		jqe '[.ips[].version]==["4","6"]' "$tmp/out/l2.ADD"
	jq -S 'del(.interfaces[].sandbox, .ips[].version)' "$tmp/out/l2.ADD" >"$tmp/l2.res"
	jq -S 'del(.interfaces[].sandbox)' "$tmp/out/l3.ADD" >"$tmp/l3.res"
	check "... and otherwise answers what the reference plugin does" diff "$tmp/l2.res" "$tmp/l3.res"
fi

# ---------------------------------------------------------------------------------------------
# The same sequence against Debian's reference plugins (bridge + host-local)
if [ -x "$REF/bridge" ] && [ -x "$REF/host-local" ]; then
	ns n2
	mkconf "$tmp/t.json" tcnit "${B}t" '[{"subnet":"10.250.5.0/24"},{"subnet":"fd00:250::5:0/112"}]'
	cat >"$tmp/r.json" <<EOF
{"cniVersion":"1.0.0","name":"tcniref","type":"bridge","bridge":"${B}r","isGateway":true,
 "hairpinMode":true,"ipam":{"type":"host-local","dataDir":"$tmp/ref",
 "ranges":[[{"subnet":"10.250.6.0/24"}],[{"subnet":"fd00:250::6:0/112"}]],
 "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}}
EOF
	ns t1
	ns r1
	plugin n2 ADD t1 t1 "$tmp/t.json"
	rt=$?
	PLUGIN=$REF/bridge plugin n2 ADD r1 r1 "$tmp/r.json"
	rr=$?
	check "both ADDs succeed" test "$rt$rr" = 00
	shape='{top: (keys), ifs: [.interfaces[] | keys], ips: [.ips[] | {k: (keys), i: .interface, v: (.address | test(":"))}], dst: [.routes[].dst], dns: (.dns | type)}'
	jq -S "$shape" "$tmp/out/t1.ADD" >"$tmp/t1.shape"
	jq -S "$shape" "$tmp/out/r1.ADD" >"$tmp/r1.shape"
	check "tug-cni's ADD result has the reference plugins' shape" diff "$tmp/t1.shape" "$tmp/r1.shape"
	check "both pods end up with the same kind of addresses" \
		test "$(pod_addrs t1 | sed 's/.*\//\//' | sort)" = "$(pod_addrs r1 | sed 's/.*\//\//' | sort)"
	with_prev "$tmp/t.json" "$tmp/out/t1.ADD" "$tmp/t1.prev"
	with_prev "$tmp/r.json" "$tmp/out/r1.ADD" "$tmp/r1.prev"
	plugin n2 CHECK t1 t1 "$tmp/t1.prev"
	rt=$?
	PLUGIN=$REF/bridge plugin n2 CHECK r1 r1 "$tmp/r1.prev"
	rr=$?
	check "both CHECKs succeed" test "$rt$rr" = 00
	plugin n2 DEL t1 t1 "$tmp/t1.prev"
	rt=$?
	PLUGIN=$REF/bridge plugin n2 DEL r1 r1 "$tmp/r1.prev"
	rr=$?
	check "both DELs succeed" test "$rt$rr" = 00
	check "both pods are left without eth0" bash -c \
		"! nsenter --net=/run/netns/$P-t1 ip link show eth0 2>/dev/null && ! nsenter --net=/run/netns/$P-r1 ip link show eth0 2>/dev/null"
	plugin n2 DEL t1 t1 "$tmp/t1.prev"
	rt=$?
	PLUGIN=$REF/bridge plugin n2 DEL r1 r1 "$tmp/r1.prev"
	rr=$?
	check "both accept DEL twice" test "$rt$rr" = 00
	ip netns del "$P-t1"
	ip netns del "$P-r1"
	plugin n2 DEL t1 t1 "$tmp/t1.prev"
	rt=$?
	PLUGIN=$REF/bridge plugin n2 DEL r1 r1 "$tmp/r1.prev"
	rr=$?
	check "both accept DEL after the namespace is gone" test "$rt$rr" = 00
else
	skip "reference plugins not installed in $REF"
fi

# ---------------------------------------------------------------------------------------------
# hostPorts: runtimeConfig.portMappings become DNAT from the node's addresses to the pod, for
# the node itself and for a client machine joined to it by a link.
# hp_srv NS NAME: a TCP server on 8080 and a UDP one on 8081 in pod NS (both families), each
# answering its NAME and the address it saw the client come from.
cat >"$tmp/hpsrv.py" <<'EOF'
import socket, sys, threading
name = sys.argv[1].encode()
def tcp():
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", 8080)); s.listen(16)
    while True:
        c, a = s.accept()
        c.sendall(name + b" " + a[0].replace("::ffff:", "").encode() + b"\n"); c.close()
def udp():
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", 8081))
    while True:
        d, a = s.recvfrom(100)
        s.sendto(name + b" " + a[0].replace("::ffff:", "").encode() + b"\n", a)
threading.Thread(target=udp, daemon=True).start()
tcp()
EOF
# hp_get NS tcp|udp HOST PORT: what a server answers, within 3 s
cat >"$tmp/hpcli.py" <<'EOF'
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
s.settimeout(3)
if kind == "tcp":
    s.connect((host, port)); print(s.recv(100).decode().strip())
else:
    for _ in range(6):  # the first datagram may wait on neighbour discovery
        s.sendto(b"x", (host, port))
        try:
            print(s.recvfrom(100)[0].decode().strip()); break
        except socket.timeout:
            continue
    else:
        sys.exit(1)
EOF
hp_srv() {
	in_ns "$1" python3 "$tmp/hpsrv.py" "$2" >/dev/null 2>&1 &
	bg+=($!)
}
hp_get() { in_ns "$1" python3 "$tmp/hpcli.py" "$2" "$3" "$4" 2>/dev/null | cut -d' ' -f1; }
hp_from() { in_ns "$1" python3 "$tmp/hpcli.py" "$2" "$3" "$4" 2>/dev/null | cut -d' ' -f2; }
# answers EXPECT NS tcp|udp HOST PORT: the server named EXPECT answers there
answers() { [ "$(hp_get "$2" "$3" "$4" "$5")" = "$1" ]; }
refused() { [ -z "$(hp_get "$1" "$2" "$3" "$4")" ]; }
HT=tug-hp-${B}h
# elems MAP: the elements of one of the hostPort maps in node h1, as nft prints them
elems() { in_ns h1 nft -j list map inet "$HT" "$1" 2>/dev/null | jq -c '[.nftables[].map.elem // empty | .[]]'; }
ns h1
ns hc
in_ns h1 ip link add "${B}x" type veth peer name eth0 netns "$P-hc"
in_ns h1 ip addr add 10.250.13.1/24 dev "${B}x"
in_ns h1 ip addr add fd00:250::13:1/112 dev "${B}x" nodad
in_ns h1 ip link set "${B}x" up
in_ns h1 ip link set lo up
in_ns hc ip addr add 10.250.13.2/24 dev eth0
in_ns hc ip addr add fd00:250::13:2/112 dev eth0 nodad
in_ns hc ip link set eth0 up
mkconf "$tmp/h.json" tcnih "${B}h" '[{"subnet":"10.250.12.0/24"},{"subnet":"fd00:250::12:0/112"}]'
# hpconf OUT MAPPINGS: the configuration with runtimeConfig.portMappings, as containerd passes it
hpconf() { jq --argjson m "$2" '. + {runtimeConfig: {portMappings: $m}}' "$tmp/h.json" >"$1"; }
hpconf "$tmp/h1.json" '[{"hostPort":18080,"containerPort":8080,"protocol":"tcp"},
	{"HostPort":18081,"ContainerPort":8081,"Protocol":"UDP","HostIP":""},
	{"hostPort":18082,"containerPort":8080,"protocol":"tcp","hostIP":"10.250.13.1"}]'
ns hp1
ns hp2
plugin h1 ADD hp1 hp1 "$tmp/h1.json"
check "ADD with portMappings succeeds" test $? -eq 0
check "... and answers the usual result" jqe '(.ips|length)==2' "$tmp/out/hp1.ADD"
plugin h1 ADD hp2 hp2 "$tmp/h.json"
hp_srv hp1 hp1
hp_srv hp2 hp2
check "the pod's server is up" wait_for "[ \"\$(nsenter --net=/run/netns/$P-hp1 python3 $tmp/hpcli.py tcp 127.0.0.1 8080 2>/dev/null | cut -d' ' -f1)\" = hp1 ]"
check "from a client machine, node:hostPort reaches the pod (TCP)" answers hp1 hc tcp 10.250.13.1 18080
check "... over IPv6 too" answers hp1 hc tcp fd00:250::13:1 18080
check "... and UDP, named as containerd's go-cni does (HostPort, Protocol: UDP)" answers hp1 hc udp 10.250.13.1 18081
check "... keeping the client's address" test "$(hp_from hc tcp 10.250.13.1 18080)" = 10.250.13.2
check "from the node itself, its own address:hostPort reaches the pod" answers hp1 h1 tcp 10.250.13.1 18080
check "... any local address of the node (the bridge's gateway)" answers hp1 h1 tcp 10.250.12.1 18080
check "... over IPv6 too" answers hp1 h1 tcp fd00:250::13:1 18080
check "a hostIP mapping answers on that address" answers hp1 hc tcp 10.250.13.1 18082
check "... and only there" refused h1 tcp 10.250.12.1 18082
check "another pod on the bridge reaches it through the node" answers hp1 hp2 tcp 10.250.13.1 18080
check "the pod reaches its own hostPort through the node (hairpin)" answers hp1 hp1 tcp 10.250.13.1 18080
check "... over IPv6 too" answers hp1 hp1 tcp fd00:250::13:1 18080
check "loopback is left alone (no route_localnet)" refused h1 tcp 127.0.0.1 18080
with_prev "$tmp/h1.json" "$tmp/out/hp1.ADD" "$tmp/h1.prev"
plugin h1 CHECK hp1 hp1 "$tmp/h1.prev"
check "CHECK with the portMappings succeeds" test $? -eq 0

# A second pod asking for the same hostPort is refused and leaves the first one's alone, also
# when the runtime then calls DEL for it with the same portMappings.
ns hp3
hpconf "$tmp/h3.json" '[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]'
plugin h1 ADD hp3 hp3 "$tmp/h3.json"
check "a second pod's ADD for a taken hostPort fails" test $? -ne 0
check "... saying which and by whom" jqe '.code==100 and (.details|contains("hostPort 18080/tcp is already taken")) and (.details|contains("10.250.12."))' "$tmp/out/hp3.ADD"
check "... and leaves that pod no address and no eth0" bash -c \
	"! nsenter --net=/run/netns/$P-hp3 ip link show eth0 2>/dev/null && ! grep -q ' hp3 eth0' <(awk '\$1==\"lease\"{o[\$2]=\$3\" \"\$4} \$1==\"free\"{delete o[\$2]} END{for (a in o) print a, o[a]}' $tmp/data/tcnih/leases)"
plugin h1 DEL hp3 hp3 "$tmp/h3.json"
check "its DEL succeeds" test $? -eq 0
check "... and the first pod keeps its hostPort" answers hp1 hc tcp 10.250.13.1 18080
hpconf "$tmp/h3u.json" '[{"hostPort":18080,"containerPort":8080,"protocol":"udp"}]'
plugin h1 ADD hp3 hp3 "$tmp/h3u.json"
check "the same port number over another protocol is free" test $? -eq 0
plugin h1 DEL hp3 hp3 "$tmp/h3u.json"

# Bad portMappings: the spec's "invalid configuration", never a crash.
for bad in '{"hostPort":0,"containerPort":80}' '{"hostPort":80,"containerPort":70000}' \
	'{"hostPort":80,"containerPort":80,"protocol":"icmp"}' '{"hostPort":"80","containerPort":80}' \
	'{"hostPort":80,"containerPort":80,"hostIP":"not-an-ip"}' '"80:80"' \
	'{"hostPort":80,"containerPort":80},{"hostPort":80,"containerPort":81}'; do
	hpconf "$tmp/hb.json" "[$bad]"
	plugin h1 ADD hpb nopod "$tmp/hb.json"
	[ "$(code hpb ADD)" = 7 ] || echo "# bad portMappings [$bad] answered: $(out hpb ADD)"
	[ "$(code hpb ADD)" = 7 ] || break
done
check "bad portMappings are refused with code 7" test "$(code hpb ADD)" = 7
jq '. + {runtimeConfig: {portMappings: {"hostPort": 80}}}' "$tmp/h.json" >"$tmp/hb.json"
plugin h1 ADD hpb nopod "$tmp/hb.json"
check "... and so is portMappings that is not a list" jqe '.code==7 and (.details|contains("portMappings must be a list"))' "$tmp/out/hpb.ADD"

# CHECK notices a mapping gone; DEL, even without runtimeConfig, removes exactly the pod's.
in_ns h1 nft delete element inet "$HT" ports4 '{ tcp . 18080 }'
plugin h1 CHECK hp1 hp1 "$tmp/h1.prev"
check "CHECK notices a hostPort mapping gone" jqe '.code==101 and (.details|contains("hostPort 18080/tcp"))' "$tmp/out/hp1.CHECK"
ns hp4
hpconf "$tmp/h4.json" '[{"hostPort":18090,"containerPort":8080}]'
plugin h1 ADD hp4 hp4 "$tmp/h4.json"
hp_srv hp4 hp4
check "a second pod with its own hostPort is reached" wait_for "[ \"\$(nsenter --net=/run/netns/$P-hc python3 $tmp/hpcli.py tcp 10.250.13.1 18090 2>/dev/null | cut -d' ' -f1)\" = hp4 ]"
plugin h1 DEL hp1 hp1 "$tmp/h.json"
check "DEL without runtimeConfig succeeds" test $? -eq 0
check "... and the hostPorts no longer reach the pod" refused hc tcp fd00:250::13:1 18080
check "... nor over UDP" bash -c "[ -z \"\$(nsenter --net=/run/netns/$P-hc python3 $tmp/hpcli.py udp 10.250.13.1 18081 2>/dev/null)\" ]"
check "... its map elements are gone, the other pod's stay" \
	test "$(elems ports4 | jq length) $(elems ipports4 | jq length) $(elems ports6 | jq length)" = "1 0 1"
check "... and the other pod still answers" answers hp4 hc tcp 10.250.13.1 18090
plugin h1 DEL hp1 hp1 "$tmp/h1.json"
check "DEL twice succeeds" test $? -eq 0

# GC drops the hostPorts of attachments no longer valid.
jq '. + {cniVersion: "1.1.0", "cni.dev/valid-attachments": [{containerID: "hp2", ifname: "eth0"}]}' "$tmp/h.json" >"$tmp/h.gc"
plugin h1 GC "" "" "$tmp/h.gc"
check "GC succeeds" test $? -eq 0
check "... and removes the hostPorts of the pods it collects" bash -c "[ \"\$(nsenter --net=/run/netns/$P-h1 nft -j list map inet $HT ports4 | jq '[.nftables[].map.elem // empty | .[]] | length')\" = 0 ]"
check "... so they no longer answer" refused hc tcp 10.250.13.1 18090
check "... and forgets them" test -z "$(ls "$tmp/data/tcnih/hostports" 2>/dev/null)"
in_ns h1 nft delete table inet "$HT"
check "the hostPort table can be removed" bash -c "! nsenter --net=/run/netns/$P-h1 nft list table inet $HT 2>/dev/null"

# Debian's reference portmap plugin, chained after bridge + host-local: the same reachability.
if [ -x "$REF/portmap" ] && [ -x "$REF/bridge" ] && command -v iptables >/dev/null; then
	ns hr
	cat >"$tmp/hr.json" <<EOF
{"cniVersion":"1.0.0","name":"tcnihr","type":"bridge","bridge":"${B}y","isGateway":true,
 "hairpinMode":true,"ipam":{"type":"host-local","dataDir":"$tmp/ref",
 "ranges":[[{"subnet":"10.250.14.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}}
EOF
	PLUGIN=$REF/bridge plugin h1 ADD hr hr "$tmp/hr.json"
	jq --slurpfile r "$tmp/out/hr.ADD" '{cniVersion, name: "tcnihr", type: "portmap", snat: true,
		capabilities: {portMappings: true}, prevResult: $r[0],
		runtimeConfig: {portMappings: [{hostPort: 18095, containerPort: 8080, protocol: "tcp"}]}}' \
		"$tmp/hr.json" >"$tmp/hrp.json"
	PLUGIN=$REF/portmap plugin h1 ADD hrp hr "$tmp/hrp.json"
	check "the reference portmap plugin's ADD succeeds" test $? -eq 0
	hp_srv hr ref
	check "... and the node's address:hostPort reaches its pod from the client too" wait_for \
		"[ \"\$(nsenter --net=/run/netns/$P-hc python3 $tmp/hpcli.py tcp 10.250.13.1 18095 2>/dev/null | cut -d' ' -f1)\" = ref ]"
	check "... as from the node itself" answers ref h1 tcp 10.250.13.1 18095
	PLUGIN=$REF/portmap plugin h1 DEL hrp hr "$tmp/hrp.json"
	check "... and after its DEL no longer does, as with tug-cni" refused hc tcp 10.250.13.1 18095
else
	skip "reference portmap plugin or iptables not installed"
fi

# ---------------------------------------------------------------------------------------------
# Two nodes joined by a link, each with its bridge and pod CIDRs, routes between them
ns na
ns nb
ip link add "${B}x" netns "$P-na" type veth peer name "${B}y" netns "$P-nb"
in_ns na ip addr add 10.250.250.1/29 dev "${B}x"
in_ns na ip addr add fd00:250::f0:1/112 dev "${B}x" nodad
in_ns na ip link set "${B}x" up
in_ns nb ip addr add 10.250.250.2/29 dev "${B}y"
in_ns nb ip addr add fd00:250::f0:2/112 dev "${B}y" nodad
in_ns nb ip link set "${B}y" up
mkconf "$tmp/na.json" tcnina "${B}A" '[{"subnet":"10.250.8.0/24"},{"subnet":"fd00:250::8:0/112"}]'
mkconf "$tmp/nb.json" tcninb "${B}B" '[{"subnet":"10.250.9.0/24"},{"subnet":"fd00:250::9:0/112"}]'
ns pa
ns pb
plugin na ADD pa pa "$tmp/na.json"
plugin nb ADD pb pb "$tmp/nb.json"
pa4=$(jq -r '.ips[0].address' "$tmp/out/pa.ADD" | cut -d/ -f1)
pb4=$(jq -r '.ips[0].address' "$tmp/out/pb.ADD" | cut -d/ -f1)
pb6=$(jq -r '.ips[1].address' "$tmp/out/pb.ADD" | cut -d/ -f1)
NODES="na=10.250.8.0/24,fd00:250::8:0/112@10.250.250.1,fd00:250::f0:1 nb=10.250.9.0/24,fd00:250::9:0/112@10.250.250.2,fd00:250::f0:2"
# The cluster CIDRs hold both nodes' pods but not the link between the nodes.
routes_sync() { # routes_sync NODE [node list...]
	local n=$1
	shift
	in_ns "$n" "$TOOLS/routes-sync" --self "$n" --cluster-cidr 10.250.0.0/20 \
		--cluster-cidr fd00:250::/108 --masquerade --nft-table "${T}_r" "$@" >"$tmp/sync.out" 2>"$tmp/sync.err"
}
check "pods on different nodes cannot talk before routes" bash -c "! nsenter --net=/run/netns/$P-pa ping -c1 -W1 $pb4 >/dev/null"
routes_sync na $NODES
check "routes-sync on node A succeeds" test $? -eq 0
check "... adding one route per family to node B's pods" grep -q "routes 2 added 2 deleted 0" "$tmp/sync.out"
routes_sync nb $NODES
check "routes are in the main table, marked as ours" bash -c \
	"nsenter --net=/run/netns/$P-na ip route show proto 116 | grep -q '10.250.9.0/24 via 10.250.250.2' && nsenter --net=/run/netns/$P-na ip -6 route show proto 116 | grep -q 'fd00:250::9:0/112 via fd00:250::f0:2'"
check "a pod pings a pod on the other node (IPv4)" ping_ok pa "$pb4"
check "a pod pings a pod on the other node (IPv6)" ping_ok pa "$pb6"
routes_sync na $NODES
check "a second sync changes nothing" grep -q "routes 2 added 0 deleted 0" "$tmp/sync.out"

# Which source address arrives: pod to pod keeps it, pod to outside the cluster is masqueraded.
in_ns nb nft -f - <<EOF
table inet ${T}_c {
	chain node_in { type filter hook input priority 0; policy accept;
		ip saddr 10.250.250.1 icmp type echo-request counter
	}
	chain pods_in { type filter hook forward priority 0; policy accept;
		ip saddr $pa4 icmp type echo-request counter
	}
}
EOF
ping_ok pa "$pb4"
ping_ok pa 10.250.250.2
counters=$(in_ns nb nft list table inet "${T}_c")
check "pod to pod traffic keeps the pod's source address" bash -c "grep -A3 'chain pods_in' <<<'$counters' | grep -qE 'packets [1-9]'"
check "pod traffic leaving the cluster CIDR is masqueraded" bash -c "grep -A3 'chain node_in' <<<'$counters' | grep -qE 'packets [1-9]'"

routes_sync na "na=10.250.8.0/24@10.250.250.1"
check "when node B leaves the list its routes go" bash -c "grep -q 'deleted 2' $tmp/sync.out && [ -z \"\$(nsenter --net=/run/netns/$P-na ip route show proto 116)\" ]"
check "... and its pods are out of reach" bash -c "! nsenter --net=/run/netns/$P-pa ping -c1 -W1 $pb4 >/dev/null"
routes_sync na $NODES "nc=10.250.10.0/24@10.250.251.9" "nd=10.250.11.0/24@bogus"
rc=$?
check "a sync with a bad node still fails, naming it" bash -c "[ $rc -ne 0 ] && grep -q 'node nc' $tmp/sync.err"
check "... and puts every good route in place regardless" bash -c \
	"nsenter --net=/run/netns/$P-na ip route show proto 116 | grep -q '10.250.9.0/24 via 10.250.250.2' && nsenter --net=/run/netns/$P-pa ping -c1 -w5 -i0.2 $pb4 >/dev/null"
in_ns na ip route del 10.250.9.0/24
routes_sync na $NODES
check "a route of ours that someone deleted comes back at the next sync" bash -c \
	"grep -q 'added 1 deleted 0' $tmp/sync.out && nsenter --net=/run/netns/$P-pa ping -c1 -w5 -i0.2 $pb4 >/dev/null"
routes_sync na "na=10.250.8.0/24@10.250.250.1" "nb=10.250.9.0/24,fd00:250::9:0/112@10.250.250.2"
check "a node without an InternalIP of a family gets no route for that family" bash -c \
	"grep -q 'routes 1 added 0 deleted 1 skipped 1' $tmp/sync.out && [ -z \"\$(nsenter --net=/run/netns/$P-na ip -6 route show proto 116)\" ]"
in_ns na "$TOOLS/routes-sync" --cluster-cidr 10.250.0.0/20 --nft-table "${T}_r" --flush >/dev/null
check "flush removes every route and the masquerade table" bash -c \
	"[ -z \"\$(nsenter --net=/run/netns/$P-na ip route show proto 116)\" ] && ! nsenter --net=/run/netns/$P-na nft list table inet ${T}_r 2>/dev/null"

# ---------------------------------------------------------------------------------------------
# The same routes kept by `tug server` (run in node A's namespace) from the Nodes in its API
srv=
if grep -q 'CONFIG_TUG_CONTROL_PLANE=y' "${TUG_BUILD:-$TOP/build}/.config" 2>/dev/null; then
	in_ns na ip link set lo up
	# no containerd: the runtime endpoint goes nowhere; the routes do not need one. The
	# kubelet registers Node na; with the controllers off, node IPAM gives it no podCIDR: the
	# test sets one, as node IPAM would.
	nsenter --net="/run/netns/$P-na" "$TUG" server --data-dir "$tmp/srv" --node-name na --https-listen-port $((20000 + RANDOM % 20000)) --disable controllers \
		--cluster-cidr 10.250.0.0/20 --write-kubeconfig "$tmp/srv.kubeconfig" \
		--container-runtime-endpoint "unix://$tmp/none.sock" 2>"$tmp/srv.log" &
	srv=$!
	bg+=("$srv")
	kc() { in_ns na kubectl --kubeconfig "$tmp/srv.kubeconfig" "$@"; }
	for _ in $(seq 300); do kc get --raw /readyz >/dev/null 2>&1 && break; sleep 0.1; done
	# node NAME CIDR4 CIDR6 IP4 IP6: a Node as a kubelet registers it and node IPAM fills it in
	node() {
		printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s"},"spec":{"podCIDR":"%s","podCIDRs":["%s","%s"]},"status":{"addresses":[{"type":"InternalIP","address":"%s"},{"type":"InternalIP","address":"%s"},{"type":"Hostname","address":"%s"}]}}\n' \
			"$1" "$2" "$2" "$3" "$4" "$5" "$1"
	}
	# proto_routes: node A's routes of ours, both families
	proto_routes() { in_ns na ip route show proto 116; in_ns na ip -6 route show proto 116; }
	node nb 10.250.9.0/24 fd00:250::9:0/112 10.250.250.2 fd00:250::f0:2 | kc create -f - >/dev/null
	check "with only other Nodes registered, the server touches no route" bash -c \
		"sleep 0.5; [ -z \"\$(nsenter --net=/run/netns/$P-na ip route show proto 116)\" ]"
	for _ in $(seq 100); do kc get node na >/dev/null 2>&1 && break; sleep 0.1; done
	kc patch node na --type=merge -p '{"spec":{"podCIDR":"10.250.8.0/24","podCIDRs":["10.250.8.0/24","fd00:250::8:0/112"]}}' >/dev/null
	check "once its own Node has a podCIDR, tug server routes to the other Node's pods" wait_for \
		"nsenter --net=/run/netns/$P-na ip route show proto 116 | grep -q '10.250.9.0/24 via 10.250.250.2' && nsenter --net=/run/netns/$P-na ip -6 route show proto 116 | grep -q 'fd00:250::9:0/112 via fd00:250::f0:2'"
	check "... and none to its own" bash -c "! nsenter --net=/run/netns/$P-na ip route show proto 116 | grep -q 10.250.8.0"
	check "... over which a pod pings a pod on the other node" ping_ok pa "$pb4"
	check "... and masquerades pod traffic leaving the cluster CIDRs in its own table" bash -c \
		"nsenter --net=/run/netns/$P-na nft list table inet tug-routes | grep -q masquerade"
	node nc 10.250.10.0/24 fd00:250::a:0/112 10.250.250.3 fd00:250::f0:3 | kc create -f - >/dev/null
	check "a Node that joins gets its routes" wait_for \
		"nsenter --net=/run/netns/$P-na ip route show proto 116 | grep -q '10.250.10.0/24 via 10.250.250.3'"
	kc delete node nb >/dev/null
	check "a Node deleted loses its routes" wait_for \
		"! nsenter --net=/run/netns/$P-na ip route show proto 116 | grep -q 10.250.9.0 && ! nsenter --net=/run/netns/$P-na ip -6 route show proto 116 | grep -q fd00:250::9:0"
	check "... and its pods are out of reach" bash -c "! nsenter --net=/run/netns/$P-pa ping -c1 -W1 $pb4 >/dev/null"
	check "... while the other Node keeps its route" bash -c "nsenter --net=/run/netns/$P-na ip route show proto 116 | grep -q 10.250.10.0/24"
	kc patch node nc --subresource=status --type=merge -p '{"status":{"addresses":[{"type":"InternalIP","address":"10.250.250.4"}]}}' >/dev/null
	check "a Node whose InternalIP changes is routed via the new one, and only over IPv4" wait_for \
		"nsenter --net=/run/netns/$P-na ip route show proto 116 | grep -q '10.250.10.0/24 via 10.250.250.4' && [ -z \"\$(nsenter --net=/run/netns/$P-na ip -6 route show proto 116)\" ]"
	kill -TERM "$srv"
	wait "$srv"
	check "the server stops with status 0" test $? -eq 0
	check "... leaving the routes in place for the pods" bash -c "nsenter --net=/run/netns/$P-na ip route show proto 116 | grep -q 10.250.10.0/24"
	grep -q 'routes to other nodes' "$tmp/srv.log" || tail -20 "$tmp/srv.log"
fi

check "the plugin wrote nothing unexpected to stderr" bash -c "! grep -v -E '^$|WARN|INFO' $tmp/stderr"
finish
