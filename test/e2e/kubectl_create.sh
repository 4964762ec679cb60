# kubectl_create: the real kubectl's typed commands, which send protobuf bodies (kubectl create
# deployment|configmap|secret|service|namespace|job|cronjob|role|rolebinding|clusterrole|
# clusterrolebinding|serviceaccount|quota, certificate approve, drain), against `tug server`.
# Each object must be stored as a real cluster stores it, and exactly as the same object sent as
# JSON (`kubectl create ... --dry-run=client -o json | kubectl create -f -`) is stored.
# (Debian's kubectl 1.20 writes JSON for these commands; api_compat.sh covers it.)
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
tmp=$(mktemp -d /tmp/tug-e2e-create.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Debian's python3 when there is one: it starts in a tenth of the time of a pyenv shim.
PY=$(command -v /usr/bin/python3 || command -v python3)
if ! command -v kubectl >/dev/null || [ -z "$PY" ]; then
	skip "kubectl or python3 not installed"
	finish
	exit
fi

K="kubectl --kubeconfig $tmp/kubeconfig --cache-dir $tmp/cache"
# The API server alone: objects are compared as stored, before any controller touches them.
"$TUG" server --data-dir "$tmp/data" --volatile-dir "$tmp/vol" --bind-address 127.0.0.1 \
	--https-listen-port 0 --write-kubeconfig "$tmp/kubeconfig" --disable-agent \
	--disable controllers --disable scheduler >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 150); do
	[ -f "$tmp/kubeconfig" ] && $K get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.2
done
check "tug server serves the API" bash -c "$K get --raw /api/v1 >/dev/null"

# is <python expression>: true when it holds for the object `same` created last: o is the
# object, pod the spec of its pod template (a cronjob's too) and c the first container.
is() {
	"$PY" -c '
import json, sys
o = json.load(open(sys.argv[1]))
spec = o.get("spec", {})
pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec", {})
c = (pod.get("containers") or [{}])[0]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/obj.json" "$1"
}
# py <kubectl get args...> -- <python expression on o>: true when it holds for the object.
py() {
	local args=()
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	$K get "${args[@]}" -o json 2>/dev/null |
		"$PY" -c "import json,sys; o=json.load(sys.stdin); sys.exit(0 if ($2) else 1)"
}

# The object as stored, without what differs between two creations: identity (also where a
# controller-uid label repeats it), times, the namespace, allocated IPs and ports; `from`
# renamed to `to` everywhere.
norm() { # from to
	"$PY" -c '
import json, re, sys
o = json.load(sys.stdin)
m = o.get("metadata", {})
for k in ("uid", "resourceVersion", "creationTimestamp", "namespace"):
    m.pop(k, None)
# Controllers write status on their own time (timestamps, counts): compare what was created.
o.pop("status", None)
m["managedFields"] = [f for f in m.get("managedFields", []) if f.get("subresource") != "status"]
if not m["managedFields"]:
    m.pop("managedFields")
for f in m.get("managedFields", []):
    f.pop("time", None)
s = o.get("spec", {})
if o.get("kind") == "Service":
    s.pop("clusterIP", None); s.pop("clusterIPs", None)
    for p in s.get("ports", []):
        p.pop("nodePort", None)
t = json.dumps(o, sort_keys=True, indent=1)
t = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UID", t)
print(t.replace(sys.argv[1], sys.argv[2]) if sys.argv[1] else t)' "$1" "$2"
}

# same <desc> <resource> <name> <create args...>: `kubectl create <args>` (protobuf) in namespace
# pb, and the same object through JSON in namespace js (for cluster-scoped kinds the JSON copy
# is named js-<name>: write the name as {} in the args). Both must answer alike and store the
# same object.
namespaced=$($K api-resources --namespaced=true -o name 2>/dev/null)
same() {
	local desc=$1 res=$2 name=$3 pbargs=() jsargs=() cmd=() a
	local ns=() jsns=() jsname=js-$name from=js-$name
	shift 3
	if grep -qx "$res" <<<"$namespaced"; then
		ns=(-n pb)
		jsns=(-n js)
		jsname=$name
		from=
	fi
	for a in "$@"; do
		[ "$a" = -- ] && break
		pbargs+=("${a//\{\}/$name}")
		jsargs+=("${a//\{\}/$jsname}")
		shift
	done
	cmd=("$@") # "--" and a container's command, after the flags
	$K "${ns[@]}" create "${pbargs[@]}" "${cmd[@]}" >"$tmp/pb.out" 2>&1
	local pbrc=$?
	$K "${jsns[@]}" create "${jsargs[@]}" --dry-run=client -o json "${cmd[@]}" >"$tmp/js.json" 2>&1 &&
		$K "${jsns[@]}" create -f "$tmp/js.json" >"$tmp/js.out" 2>&1
	local jsrc=$?
	if [ $pbrc -ne 0 ] && [ $jsrc -ne 0 ]; then
		# The server refuses the object whatever the encoding: not this test's business, but
		# the protobuf body must have been understood (same answer as JSON, not 400/415).
		sed -E -e 's/[0-9a-f]{8}-[0-9a-f-]{27}/UID/g' -e "s/js-$name/$name/g" "$tmp/js.out" \
			>"$tmp/js.err"
		sed -E 's/[0-9a-f]{8}-[0-9a-f-]{27}/UID/g' "$tmp/pb.out" >"$tmp/pb.err"
		if grep -q 'failed to create' "$tmp/pb.err" &&
			[ "$(sed 's/.*: //' "$tmp/pb.err")" = "$(sed 's/.*: //' "$tmp/js.err")" ]; then
			skip "$desc: refused as from JSON: $(head -c 160 "$tmp/pb.err")"
		else
			fail "$desc: $(cat "$tmp/pb.out") / JSON: $(cat "$tmp/js.out")"
		fi
		return 1
	fi
	if [ $pbrc -ne 0 ]; then
		fail "$desc: $(cat "$tmp/pb.out")"
		return 1
	fi
	ok "$desc: $(head -1 "$tmp/pb.out")"
	if [ $jsrc -ne 0 ]; then
		fail "$desc: the JSON copy failed: $(cat "$tmp/js.out")"
		return 1
	fi
	$K "${ns[@]}" get "$res" "$name" -o json >"$tmp/obj.json"
	norm "" "" <"$tmp/obj.json" >"$tmp/pb.norm"
	$K "${jsns[@]}" get "$res" "$jsname" -o json | norm "$from" "$name" >"$tmp/js.norm"
	if diff -u "$tmp/js.norm" "$tmp/pb.norm" >"$tmp/diff"; then
		ok "$desc: stored as from a JSON body"
	else
		fail "$desc: stored unlike the JSON copy: $(head -40 "$tmp/diff")"
	fi
}

check "namespaces for the two encodings" $K create namespace js
$K create namespace pb >/dev/null 2>&1

same "create deployment" deployments.apps web deployment {} --image=nginx:1.27 --replicas=3 --port=80
check "deployment: replicas, labels and selector" is 'o["spec"]["replicas"] == 3 and o["metadata"]["labels"] == o["spec"]["selector"]["matchLabels"] == o["spec"]["template"]["metadata"]["labels"] == {"app": "web"}'
check "deployment: the container, port 80/TCP" is 'c["name"] == "nginx" and c["image"] == "nginx:1.27" and c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]'
check "deployment: upstream defaults" is 'spec["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"} and spec["revisionHistoryLimit"] == 10 and c["imagePullPolicy"] == "IfNotPresent" and c["terminationMessagePath"] == "/dev/termination-log" and pod["dnsPolicy"] == "ClusterFirst"'
check "deployment: generation 1, template creationTimestamp null" is 'o["metadata"]["generation"] == 1 and o["spec"]["template"]["metadata"]["creationTimestamp"] is None'

same "create deployment --replicas=0" deployments.apps idle deployment {} --image=busybox --replicas=0 -- sleep 1d
check "deployment: replicas 0 is kept (not defaulted to 1)" is 'spec["replicas"] == 0 and c["command"] == ["sleep", "1d"]'

printf 'bin\0ary\377' >"$tmp/blob"
same "create configmap" configmaps conf configmap {} --from-literal=a=1 --from-literal=empty= --from-file=blob="$tmp/blob"
check "configmap: data with an empty value, binaryData in base64" is "o['data'] == {'a': '1', 'empty': ''} and o['binaryData'] == {'blob': '$(base64 -w0 <"$tmp/blob")'}"

same "create secret generic" secrets creds secret generic {} --from-literal=user=admin --from-literal=password='p@ss w0rd'
check "secret: data in base64, type Opaque" is 'o["data"] == {"user": "YWRtaW4=", "password": "cEBzcyB3MHJk"} and o["type"] == "Opaque"'
same "create secret docker-registry" secrets reg secret docker-registry {} --docker-server=r.example --docker-username=u --docker-password=p
check "secret: type dockerconfigjson" is 'o["type"] == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" in o["data"]'

same "create service clusterip" services web service clusterip {} --tcp=80:8080 --tcp=443:https
check "service: targetPort a number, or a name" is 'o["spec"]["ports"][0]["targetPort"] == 8080 and o["spec"]["ports"][1]["targetPort"] == "https"'
check "service: ports named, TCP, selector app=web" is '[(p["name"], p["port"], p["protocol"]) for p in o["spec"]["ports"]] == [("80-8080", 80, "TCP"), ("443-https", 443, "TCP")] and o["spec"]["selector"] == {"app": "web"}'
check "service: a cluster IP in the service CIDR" is 'o["spec"]["type"] == "ClusterIP" and o["spec"]["clusterIP"].startswith("10.43.")'
same "create service nodeport" services np service nodeport {} --tcp=80:80
check "service: node port allocated" is '30000 <= o["spec"]["ports"][0]["nodePort"] <= 32767 and o["spec"]["type"] == "NodePort"'

same "create namespace" namespaces team-a namespace {}
check "namespace: Active with its name label" is 'o["status"]["phase"] == "Active" and o["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}'

same "create job" jobs.batch once job {} --image=busybox -- echo hi
check "job: selects its pods by its uid, upstream defaults" is 'spec["selector"]["matchLabels"] == {"batch.kubernetes.io/controller-uid": o["metadata"]["uid"]} and o["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "once" and [spec[k] for k in ("backoffLimit", "completions", "parallelism", "completionMode", "suspend")] == [6, 1, 1, "NonIndexed", False] and c["command"] == ["echo", "hi"] and pod["restartPolicy"] == "Never"'
same "create cronjob" cronjobs.batch tick cronjob {} --image=busybox --schedule='*/5 * * * *' --restart=OnFailure -- date
check "cronjob: schedule and job template" is 'spec["schedule"] == "*/5 * * * *" and c["command"] == ["date"] and pod["restartPolicy"] == "OnFailure"'
check "cronjob: upstream defaults" is '[o["spec"][k] for k in ("concurrencyPolicy", "suspend", "successfulJobsHistoryLimit", "failedJobsHistoryLimit")] == ["Allow", False, 3, 1]'

same "create role" roles.rbac.authorization.k8s.io reader role {} --verb=get,list,watch --resource=pods,deployments.apps --resource-name=a
check "role: rules" is 'o["rules"] == [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]}, {"verbs": ["get", "list", "watch"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["a"]}]'
same "create rolebinding" rolebindings.rbac.authorization.k8s.io read rolebinding {} --role=reader --user=alice --group=devs --serviceaccount=pb:robot
check "rolebinding: roleRef and subjects" is 'o["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"} and [s["kind"] + ":" + s["name"] for s in o["subjects"]] == ["User:alice", "Group:devs", "ServiceAccount:robot"]'
same "create clusterrole" clusterroles.rbac.authorization.k8s.io node-reader clusterrole {} --verb=get --resource=nodes --non-resource-url=/healthz
check "clusterrole: non-resource URLs" is 'o["rules"][1] == {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}'
same "create clusterrolebinding" clusterrolebindings.rbac.authorization.k8s.io nr clusterrolebinding {} --clusterrole=node-reader --user=bob
same "create serviceaccount" serviceaccounts robot serviceaccount {}
same "create quota" resourcequotas compute quota {} --hard=cpu=2,memory=1Gi,pods=10 --scopes=NotTerminating
check "quota: hard limits and scopes" is 'o["spec"]["hard"] == {"cpu": "2", "memory": "1Gi", "pods": "10"} and o["spec"]["scopes"] == ["NotTerminating"]'
# Enforced from now on, it would refuse the pods below, which ask for no cpu.
$K -n pb delete resourcequota compute >/dev/null

# kubectl certificate approve: PUT .../approval with the CSR and a new condition, in protobuf.
if command -v openssl >/dev/null; then
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/u.key" \
		-subj "/CN=alice/O=devs" -out "$tmp/u.csr" 2>/dev/null
	cat >"$tmp/csr.yaml" <<EOF
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: alice
spec:
  request: $(base64 -w0 <"$tmp/u.csr")
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
EOF
	$K create -f "$tmp/csr.yaml" >/dev/null
	check "certificate approve" bash -c "$K certificate approve alice | grep -q 'certificatesigningrequest.certificates.k8s.io/alice approved'"
	check "csr: Approved condition as kubectl writes it" py csr alice -- '[(c["type"], c["status"], c["reason"], c["message"]) for c in o["status"]["conditions"]] == [("Approved", "True", "KubectlApprove", "This CSR was approved by kubectl certificate approve.")]'
	check "csr: lastUpdateTime in RFC 3339" py csr alice -- '__import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", o["status"]["conditions"][0]["lastUpdateTime"])'
	check "certificate deny after approve is refused" bash -c "! $K certificate deny alice 2>/dev/null"
else
	skip "certificate approve: openssl not installed"
fi

# kubectl drain: cordon (a patch), then an Eviction per pod, in protobuf.
cat >"$tmp/node.yaml" <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: edge-1
---
apiVersion: v1
kind: Pod
metadata:
  name: worker
  namespace: pb
spec:
  nodeName: edge-1
  containers:
  - name: c
    image: busybox
EOF
$K apply -f "$tmp/node.yaml" >/dev/null
check "drain evicts the node's pods" bash -c "$K drain edge-1 --force --grace-period=0 --timeout=60s 2>&1 | grep -q 'pod/worker evicted'"
check "the evicted pod is gone" bash -c "! $K -n pb get pod worker >/dev/null 2>&1"
check "the drained node is unschedulable" py node edge-1 -- 'o["spec"]["unschedulable"] is True'

# Bad protobuf bodies get a Status, as upstream answers them.
server=$(grep -m1 'server:' "$tmp/kubeconfig" | awk '{print $2}')
grep -m1 'client-certificate-data' "$tmp/kubeconfig" | awk '{print $2}' | base64 -d >"$tmp/admin.crt"
grep -m1 'client-key-data' "$tmp/kubeconfig" | awk '{print $2}' | base64 -d >"$tmp/admin.key"
send() { # method content-type body-file path: prints the HTTP status, the body goes to resp
	curl -sk --cert "$tmp/admin.crt" --key "$tmp/admin.key" -X "$1" -H "Content-Type: $2" \
		--data-binary @"$3" -o "$tmp/resp" -w '%{http_code}' "$server$4"
}
PB=application/vnd.kubernetes.protobuf
printf 'k8s\0\x0a\x05\x0a\x02v1' >"$tmp/trunc.pb"
code=$(send POST $PB "$tmp/trunc.pb" /api/v1/namespaces/pb/configmaps)
check "truncated protobuf: 400 BadRequest" bash -c "[ $code = 400 ] && grep -q '\"reason\":\"BadRequest\"' '$tmp/resp' && grep -q protobuf '$tmp/resp'"
printf '{"kind":"ConfigMap"}' >"$tmp/json-as.pb"
code=$(send POST $PB "$tmp/json-as.pb" /api/v1/namespaces/pb/configmaps)
check "JSON sent as protobuf: 400 BadRequest" test "$code" = 400
printf 'k8s\0\x0a\x14\x0a\x02v1\x12\x0eNoSuchKindHere\x12\x00' >"$tmp/unknown.pb"
code=$(send POST "$PB; charset=binary" "$tmp/unknown.pb" /api/v1/namespaces/pb/configmaps)
check "protobuf of a kind not served: 400 naming it" bash -c "[ $code = 400 ] && grep -q NoSuchKindHere '$tmp/resp'"
code=$(send PATCH $PB "$tmp/trunc.pb" /api/v1/namespaces/pb/configmaps/conf)
check "a patch in protobuf: 415" test "$code" = 415
check "the server is still up" $K get ns pb

finish
