# api: the real kubectl 1.32 against a `tug server` this test starts (control plane only):
# discovery, create/apply/get/describe/label/annotate/patch/delete/wait/get -w, the seed's
# label selectors, server-side apply, errors, and the same core flows with Python's client.
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
tmp=$(mktemp -d /tmp/tug-e2e-api.XXXXXX)
pid=
watch_pid=
cleanup() {
	[ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Control plane only (no kubelet): the controllers and the scheduler run, so pods that a
# Deployment makes exist but stay Pending; checks that count pods use their own namespace.
"$TUG" server --data-dir "$tmp/data" --volatile-dir "$tmp/vol" --bind-address 127.0.0.1 \
	--https-listen-port 0 --write-kubeconfig "$tmp/kubeconfig" --disable-agent \
	--store-checkpoint-interval 1s >"$tmp/log" 2>&1 &
pid=$!
K="kubectl --kubeconfig $tmp/kubeconfig --cache-dir $tmp/cache"
for _ in $(seq 150); do
	[ -f "$tmp/kubeconfig" ] && $K get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.2
done
port=$(sed -n 's|^ *server: https://127.0.0.1:||p' "$tmp/kubeconfig")
check "server answers /readyz" bash -c "[ \"\$($K get --raw /readyz)\" = ok ]"
check "kubeconfig is mode 0600" test "$(stat -c %a "$tmp/kubeconfig")" = 600
check "server version is v1.32" bash -c "$K version -o json | grep -q '\"minor\": \"32\"'"
out=$($K get ns -o name 2>&1)
check "the four namespaces exist" bash -c "grep -q namespace/default <<<'$out' && grep -q namespace/kube-system <<<'$out' && grep -q namespace/kube-public <<<'$out' && grep -q namespace/kube-node-lease <<<'$out'"
check "the kubernetes service has the first service IP" bash -c "[ \"\$($K get svc kubernetes -o jsonpath='{.spec.clusterIP}')\" = 10.43.0.1 ]"
check "cluster-info ConfigMap in kube-public" bash -c "$K -n kube-public get configmap cluster-info >/dev/null"
check "api-resources lists deployments with short name" bash -c "$K api-resources | grep -qE '^deployments +deploy +apps/v1 +true +Deployment'"
check "explain works" bash -c "$K explain pods.spec.containers | grep -q 'FIELDS'"

# Anonymous access: health is public, the rest is 401.
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/api/v1/pods")
check "anonymous requests get 401" test "$code" = 401
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port/healthz")
check "anonymous /healthz is 200" test "$code" = 200

# create / get / describe
check "create deployment" bash -c "$K create deployment web --image=busybox:1.36 --replicas=2 | grep -q 'deployment.apps/web created'"
check "deployment defaults as upstream" bash -c "[ \"\$($K get deploy web -o jsonpath='{.spec.strategy.rollingUpdate.maxSurge}')\" = 25% ]"
hdr=$($K get deploy 2>&1 | head -1)
check "deployments table has upstream columns" bash -c "grep -Eq '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE' <<<'$hdr'"
check "get -o wide adds CONTAINERS IMAGES SELECTOR" bash -c "$K get deploy -o wide | head -1 | grep -Eq 'CONTAINERS +IMAGES +SELECTOR'"
check "describe deployment" bash -c "$K describe deploy web | grep -q 'Pod Template'"
check "get -o yaml" bash -c "$K get deploy web -o yaml | grep -q 'kind: Deployment'"
check "get -o json" bash -c "$K get deploy web -o json | /usr/bin/python3 -c 'import json,sys; o=json.load(sys.stdin); assert o[\"kind\"]==\"Deployment\" and o[\"spec\"][\"replicas\"]==2'"
check "create service clusterip" bash -c "$K create service clusterip web --tcp=80:8080 | grep -q 'service/web created'"
check "services table has upstream columns" bash -c "$K get svc web | head -1 | grep -Eq '^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE'"
check "describe service" bash -c "$K describe svc web | grep -Eq '^TargetPort: +8080/TCP'"
check "create secret generic" bash -c "$K create secret generic pw --from-literal=user=admin | grep -q 'secret/pw created' && [ \"\$($K get secret pw -o jsonpath='{.data.user}' | base64 -d)\" = admin ]"
check "get -o jsonpath" bash -c "[ \"\$($K get deploy web -o jsonpath='{.metadata.name}')\" = web ]"

# apply: create, unchanged, configured, field removal, server-side
cat >"$tmp/cm.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: conf
  labels:
    app: demo
data:
  a: "1"
  b: "2"
Y
check "apply creates" bash -c "$K apply -f $tmp/cm.yaml | grep -q 'configmap/conf created'"
check "apply again is unchanged" bash -c "$K apply -f $tmp/cm.yaml | grep -q 'configmap/conf unchanged'"
sed -i '/  b: "2"/d' "$tmp/cm.yaml"
check "apply after removing a field configures" bash -c "$K apply -f $tmp/cm.yaml | grep -q 'configmap/conf configured'"
check "the removed field is gone" bash -c "[ -z \"\$($K get cm conf -o jsonpath='{.data.b}')\" ]"
cat >"$tmp/ssa.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
data:
  x: "1"
Y
check "server-side apply creates" bash -c "$K apply --server-side -f $tmp/ssa.yaml | grep -q 'serverside-applied'"
# (Not "y": YAML 1.1 reads a bare y as true, on a real cluster too.)
sed -i 's/x: "1"/w: "2"/' "$tmp/ssa.yaml"
check "server-side apply prunes what it stopped applying" bash -c "$K apply --server-side -f $tmp/ssa.yaml >/dev/null && [ -z \"\$($K get cm ssa -o jsonpath='{.data.x}')\" ] && [ \"\$($K get cm ssa -o jsonpath='{.data.w}')\" = 2 ]"

# label / annotate / patch
check "label" bash -c "$K label cm conf tier=backend | grep -q labeled"
check "annotate" bash -c "$K annotate cm conf note=hello | grep -q annotated"
check "merge patch" bash -c "$K patch cm conf --type=merge -p '{\"data\":{\"c\":\"3\"}}' | grep -q patched"
check "json patch" bash -c "$K patch cm conf --type=json -p '[{\"op\":\"add\",\"path\":\"/data/d\",\"value\":\"4\"}]' | grep -q patched"
check "strategic patch of a deployment's container" bash -c "$K patch deploy web -p '{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"busybox\",\"image\":\"busybox:1.37\"}]}}}}' | grep -q patched && [ \"\$($K get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')\" = busybox:1.37 ]"
check "scale" bash -c "$K scale deploy web --replicas=3 | grep -q scaled && [ \"\$($K get deploy web -o jsonpath='{.spec.replicas}')\" = 3 ]"

# The seed's label selector examples, on pods (no node: they stay Pending), in a namespace of
# their own so that the Deployment's pods do not count.
$K create namespace sel >/dev/null
mk() { # mk name labels...
	local n=$1
	shift
	printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: sel\n  labels: {%s}\nspec:\n  containers:\n  - name: c\n    image: busybox\n' "$n" "$*" | $K apply -f - >/dev/null
}
mk p1 'environment: production, tier: frontend'
mk p2 'environment: qa, tier: backend'
mk p3 'environment: dev, partition: a'
mk p4 'tier: cache'
sel() { $K -n sel get pods -l "$1" -o name | sed 's|pod/||' | sort | tr '\n' ' '; }
check "environment = production" test "$(sel 'environment = production')" = "p1 "
check "tier != frontend also matches pods without tier" test "$(sel 'tier!=frontend')" = "p2 p3 p4 "
check "environment in (production, qa)" test "$(sel 'environment in (production, qa)')" = "p1 p2 "
check "tier notin (frontend, backend)" test "$(sel 'tier notin (frontend, backend)')" = "p3 p4 "
check "partition" test "$(sel 'partition')" = "p3 "
check "!partition" test "$(sel '!partition')" = "p1 p2 p4 "
check "tier!=frontend,tier" test "$(sel 'tier!=frontend,tier')" = "p2 p4 "
hdr=$($K -n sel get pods 2>&1 | head -1)
check "pods table has NAME READY STATUS RESTARTS AGE" bash -c "grep -Eq '^NAME +READY +STATUS +RESTARTS +AGE' <<<'$hdr'"
check "describe pod" bash -c "$K -n sel describe pod p1 | grep -Eq '^Status: +Pending'"
check "pods -o wide adds IP and NODE" bash -c "$K -n sel get pods -o wide | head -1 | grep -Eq 'IP +NODE'"
check "field selector status.phase" bash -c "[ \"\$($K -n sel get pods --field-selector status.phase=Pending -o name | wc -l)\" = 4 ]"
check "limit/continue pages" bash -c "$K -n sel get pods --chunk-size=1 -o name | wc -l | grep -qx 4"

# get -w sees a change; wait --for=delete. (kubectl prints the event type in the table
# output; with -o name it prints only names.)
$K get cm -w --output-watch-events >"$tmp/watch" 2>&1 &
watch_pid=$!
for _ in $(seq 100); do grep -q 'ADDED.*conf' "$tmp/watch" && break; sleep 0.1; done
$K create cm watched --from-literal=k=v >/dev/null
for _ in $(seq 100); do grep -q watched "$tmp/watch" && break; sleep 0.1; done
check "get -w reports the new object" grep -Eq "^ADDED +watched " "$tmp/watch"
kill "$watch_pid" 2>/dev/null
watch_pid=
check "delete" bash -c "$K delete cm watched | grep -q deleted"
$K -n sel delete pod p4 --wait=false >/dev/null
check "wait --for=delete" bash -c "$K -n sel wait --for=delete pod/p4 --timeout=30s >/dev/null"

# Errors kubectl shows as upstream does.
err=$($K create cm Bad_Name 2>&1)
check "an invalid name is 422 with the field" bash -c "grep -q 'Invalid value: \"Bad_Name\"' <<<'$err'"
err=$($K get pod nope 2>&1)
check "a missing object says NotFound" bash -c "grep -q 'pods \"nope\" not found' <<<'$err'"
err=$($K create cm conf 2>&1)
check "creating an existing object says AlreadyExists" bash -c "grep -q 'already exists' <<<'$err'"
err=$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndata:\n  a: "1"\nbogus: 1\n' | $K apply -f - 2>&1)
check "unknown fields are refused (field validation)" bash -c "grep -q 'unknown field \"bogus\"' <<<'$err'"

# Watch-list and resourceVersionMatch, as upstream validates ListOptions.
raw() { $K get --raw "$1" --request-timeout=3s >"$tmp/raw" 2>&1; }
raw "/api/v1/namespaces/kube-public/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"
check "sendInitialEvents: the current state, then a bookmark marking its end" bash -c "grep -q '\"type\":\"ADDED\".*cluster-info' $tmp/raw && grep -q '\"type\":\"BOOKMARK\".*k8s.io/initial-events-end' $tmp/raw"
raw "/api/v1/namespaces/kube-public/configmaps?watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&timeoutSeconds=1"
check "sendInitialEvents=false: no initial state" bash -c "! grep -q ADDED $tmp/raw"
raw "/api/v1/namespaces/kube-public/configmaps?watch=1&sendInitialEvents=true&timeoutSeconds=1"
check "sendInitialEvents without resourceVersionMatch is 422" grep -q 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' "$tmp/raw"
rv=$($K get cm conf -o jsonpath='{.metadata.resourceVersion}')
$K patch cm conf --type=merge -p '{"data":{"later":"1"}}' >/dev/null
raw "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dconf&resourceVersion=$rv&resourceVersionMatch=Exact"
check "list with resourceVersionMatch=Exact shows that revision" bash -c "grep -q '\"resourceVersion\":\"$rv\"' $tmp/raw && ! grep -q later $tmp/raw"
raw "/api/v1/namespaces/default/configmaps?resourceVersion=$rv&resourceVersionMatch=NotOlderThan"
check "list with resourceVersionMatch=NotOlderThan is at least that new" grep -q later "$tmp/raw"
raw "/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact"
check "resourceVersionMatch without resourceVersion is 422" grep -q 'resourceVersionMatch is forbidden unless resourceVersion is provided' "$tmp/raw"

# Python's official client: list then watch from its resourceVersion, 409 on a stale update.
cat >"$tmp/py.py" <<'P'
import sys, threading
from kubernetes import client, config, watch
config.load_kube_config(sys.argv[1])
v1 = client.CoreV1Api()
lst = v1.list_namespaced_config_map("default")
rv = lst.metadata.resource_version
names = {c.metadata.name for c in lst.items}
assert "conf" in names, names
def maker():
    v1.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="from-py")))
t = threading.Timer(0.5, maker)
t.start()
w = watch.Watch()
seen = None
for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=10):
    if ev["object"].metadata.name == "from-py":
        seen = ev["type"]
        w.stop()
assert seen == "ADDED", seen
cm = v1.read_namespaced_config_map("conf", "default")
cm.metadata.resource_version = "1"
try:
    v1.replace_namespaced_config_map("conf", "default", cm)
    raise SystemExit("stale update was accepted")
except client.exceptions.ApiException as e:
    assert e.status == 409, e.status
print("python ok")
P
check "python client: list, watch from resourceVersion, 409 on stale update" bash -c "/usr/bin/python3 $tmp/py.py $tmp/kubeconfig | grep -q 'python ok'"

kill "$pid"
wait "$pid"
rc=$?
pid=
check "server stops cleanly" test "$rc" -eq 0
finish
