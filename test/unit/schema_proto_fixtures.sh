#!/usr/bin/env bash
# Regenerates test/unit/schema_proto_fixtures.h: the protobuf bodies the real kubectl sends for
# `kubectl create ...`, each with the JSON that the same command prints with
# --dry-run=client -o json. Needs kubectl, python3 and a built tug (the body is read from
# kubectl -v=10's hex dump, so the server's answer does not matter). Run from the repository
# top: test/unit/schema_proto_fixtures.sh [build-dir]
set -euo pipefail
top=$PWD
out=$top/test/unit/schema_proto_fixtures.h
build=${1:-build}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid; rm -rf "$tmp"' EXIT
K="kubectl --kubeconfig $tmp/kc --cache-dir $tmp/cache"
"$build/tug" server --data-dir "$tmp/data" --volatile-dir "$tmp/vol" --bind-address 127.0.0.1 \
	--https-listen-port 0 --write-kubeconfig "$tmp/kc" --disable-agent >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 150); do
	[ -f "$tmp/kc" ] && $K get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.2
done
printf 'binary\0\1\2\377data' >"$tmp/blob"

n=0
capture() { # name kubectl-create-arguments...
	local name=$1 pre=() post=()
	shift
	# Flags go before a "--" that starts the container's command.
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		pre+=("$1")
		shift
	done
	post=("$@")
	$K create "${pre[@]}" --dry-run=client -o json "${post[@]}" >"$tmp/$n.json"
	$K create "${pre[@]}" -v=10 "${post[@]}" >/dev/null 2>"$tmp/$n.log" || true
	python3 - "$tmp/$n.log" "$tmp/$n.pb" <<'PY'
import re, sys
body, cur = None, None
for line in open(sys.argv[1], errors='replace'):
    if '"Request Body"' in line:
        cur = bytearray()
        continue
    if cur is not None:
        m = re.match(r'^\s*[0-9a-f]{8}  ((?:[0-9a-f]{2} {1,2}){1,16})', line)
        if m:
            cur += bytes.fromhex(m.group(1).replace(' ', ''))
            continue
        if cur.startswith(b'k8s\0'):
            body = cur
        cur = None
if body is None:
    sys.exit('no protobuf request body in ' + sys.argv[1])
open(sys.argv[2], 'wb').write(body)
PY
	echo "$name" >"$tmp/$n.name"
	n=$((n + 1))
}

capture deployment deployment web --image=nginx:1.27 --replicas=3 --port=80
capture deployment-zero deployment idle --image=busybox --replicas=0 -- sleep 1d
capture configmap configmap conf --from-literal=a=1 --from-literal=empty= --from-file=blob="$tmp/blob"
capture secret secret generic creds --from-literal=user=admin --from-literal=password='p@ss w0rd'
capture secret-docker secret docker-registry reg --docker-server=r.example --docker-username=u --docker-password=p
capture service service clusterip web --tcp=80:8080 --tcp=443:https
capture service-nodeport service nodeport np --tcp=80:80 --node-port=30080
capture service-external service externalname ext --external-name=db.example.com
capture namespace namespace team-a
capture job job once --image=busybox -- echo hi
capture cronjob cronjob tick --image=busybox --schedule='*/5 * * * *' --restart=OnFailure -- date
capture role role reader --verb=get,list,watch --resource=pods,deployments.apps --resource-name=a
capture rolebinding rolebinding read --role=reader --user=alice --group=devs --serviceaccount=default:robot
capture clusterrole clusterrole node-reader --verb=get --resource=nodes --non-resource-url=/healthz
capture clusterrolebinding clusterrolebinding nr --clusterrole=node-reader --user=bob
capture serviceaccount serviceaccount robot
capture quota quota compute --hard=cpu=2,memory=1Gi,pods=10,requests.storage=5Gi --scopes=NotTerminating

{
	echo "/* schema_proto_fixtures.h: made by test/unit/schema_proto_fixtures.sh from $(kubectl version --client | head -1 | sed 's/Client Version: //'); do not edit."
	echo " * Each entry: a protobuf body that kubectl sent for 'kubectl create ...', and the JSON that"
	echo " * the same command prints with --dry-run=client -o json. */"
	echo "struct proto_fixture {"
	echo "	const char *name;"
	echo "	const unsigned char *pb;"
	echo "	size_t len;"
	echo "	const char *json;"
	echo "};"
	echo
	for i in $(seq 0 $((n - 1))); do
		echo "static const unsigned char fixture_pb_$i[] = {"
		od -An -v -tx1 "$tmp/$i.pb" | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1, /g' -e 's/, $/,/' -e 's/^/\t/'
		echo "};"
	done
	echo
	echo "static const struct proto_fixture proto_fixtures[] = {"
	for i in $(seq 0 $((n - 1))); do
		printf '\t{ "%s", fixture_pb_%d, sizeof(fixture_pb_%d),\n' "$(cat "$tmp/$i.name")" "$i" "$i"
		python3 -c 'import json,sys; print("\t  " + json.dumps(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":"))) + " },")' "$tmp/$i.json"
	done
	echo "};"
} >"$out"
clang-format -i "$out"
echo "wrote $out ($n fixtures)"
