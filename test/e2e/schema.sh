# schema: a real kubectl reads our OpenAPI documents: `kubectl explain` of every served kind,
# through discovery and /openapi/v3, as it would against tug's API server, and the protobuf
# /openapi/v2. The documents come from core/schema (tools/schema_dump);
# test/tools/openapi_server.py serves them on loopback. KUBECTL_1_20=<path to Debian's
# kubectl 1.20> adds that client (explain and client-side validation use /openapi/v2 there);
# `apt-get download kubernetes-client && dpkg -x kubernetes-client_*.deb <dir>` gets it without
# replacing the installed kubectl.
. "$TOP/test/lib.sh"
BUILD=${TUG_BUILD:-$TOP/build}
tmp=$(mktemp -d /tmp/tug-e2e-schema.XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! command -v kubectl >/dev/null || ! command -v python3 >/dev/null; then
	skip "kubectl or python3 not installed"
	finish
	exit
fi

check "schema_dump writes the documents" "$BUILD/tools/schema_dump" "$tmp/docs"
python3 "$TOP/test/tools/openapi_server.py" "$tmp/docs" "$tmp/port" "$tmp/patches" 2>"$tmp/server.log" &
srv=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port" 2>/dev/null)
check "the stand-in server listens" test -n "$port"
cat >"$tmp/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "http://127.0.0.1:$port"}
  name: t
contexts:
- context: {cluster: t, user: u}
  name: t
current-context: t
users:
- name: u
  user: {}
EOF
k() { HOME=$tmp kubectl --kubeconfig "$tmp/kubeconfig" --cache-dir "$tmp/cache" "$@"; }

k explain pods.spec.containers >"$tmp/out" 2>&1
check "explain pods.spec.containers names the kind" grep -q '^KIND: *Pod$' "$tmp/out"
check "explain pods.spec.containers shows the field's type" grep -q '^FIELD: containers <\[\]Container>' "$tmp/out"
check "explain shows required fields" grep -qP '^  name\t<string> -required-' "$tmp/out"
check "explain shows enums" grep -q 'enum: Always, Never, IfNotPresent' "$tmp/out"
check "explain shows our descriptions" grep -q 'Container image reference' "$tmp/out"

k explain deployments >"$tmp/out" 2>&1
check "explain deployments names group and kind" bash -c "grep -q '^GROUP: *apps$' '$tmp/out' && grep -q '^KIND: *Deployment$' '$tmp/out'"
check "explain deployments lists spec" grep -qP '^  spec\t<DeploymentSpec>' "$tmp/out"

k explain cronjobs.spec.jobTemplate.spec.template.spec.containers.resources.limits >"$tmp/out" 2>&1
check "explain follows a CronJob down to container limits" grep -q 'FIELD: limits <map\[string\]Quantity>' "$tmp/out"
k explain deployments.spec.strategy.rollingUpdate.maxSurge >"$tmp/out" 2>&1
check "explain shows int-or-string fields" grep -q 'FIELD: maxSurge <IntOrString>' "$tmp/out"
k explain events --api-version=events.k8s.io/v1 >"$tmp/out" 2>&1
check "explain picks events.k8s.io/v1 Event by --api-version" grep -q '^GROUP: *events.k8s.io$' "$tmp/out"

if k explain pods.spec.nope >"$tmp/out" 2>&1; then
	fail "explain of a missing field fails"
else
	check "explain of a missing field says so" grep -q 'field "nope" does not exist' "$tmp/out"
fi
check "explain pods --recursive ends (no ref cycles)" bash -c "HOME=$tmp kubectl --kubeconfig $tmp/kubeconfig --cache-dir $tmp/cache explain pods --recursive | grep -q 'containers'"

k explain pods.spec.containers --output=plaintext-openapiv2 >"$tmp/out" 2>&1
check "explain reads the protobuf /openapi/v2 too" grep -q 'Container image reference' "$tmp/out"

if [ -n "${KUBECTL_1_20:-}" ] && [ -x "$KUBECTL_1_20" ]; then
	k20() { HOME=$tmp "$KUBECTL_1_20" --kubeconfig "$tmp/kubeconfig" --cache-dir "$tmp/cache20" "$@"; }
	k20 explain deployments.spec.strategy >"$tmp/out" 2>&1
	check "kubectl 1.20 explains from /openapi/v2" grep -q 'How a Deployment replaces pods' "$tmp/out"
	cat >"$tmp/deploy.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, labels: {app: d}}
spec:
  replicas: 2
  selector: {matchLabels: {app: d}}
  strategy: {rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
      - {name: c, image: busybox, resources: {limits: {cpu: 1, memory: 64Mi}}, ports: [{containerPort: 80}]}
EOF
	k20 create --dry-run=client -f "$tmp/deploy.yaml" -o name >"$tmp/out" 2>&1
	check "kubectl 1.20 validates a good Deployment client-side" grep -qx deployment.apps/d "$tmp/out"
	sed 's/image: busybox/imagee: busybox/' "$tmp/deploy.yaml" >"$tmp/bad.yaml"
	k20 create --dry-run=client -f "$tmp/bad.yaml" -o name >"$tmp/out" 2>&1
	check "kubectl 1.20 rejects an unknown field client-side" grep -q 'unknown field "imagee"' "$tmp/out"
else
	skip "kubectl 1.20 checks (set KUBECTL_1_20)"
fi

# kubectl apply: the second apply computes a strategic merge patch from our v3 document and,
# seeing fieldValidation among PATCH's parameters, leaves validation to the server.
cat >"$tmp/app.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: c, image: busybox, command: [sleep, 1d]}
EOF
k apply -f "$tmp/app.yaml" >"$tmp/out" 2>&1
check "kubectl apply creates" grep -qx 'deployment.apps/web created' "$tmp/out"
sed -e 's/replicas: 2/replicas: 3/' -e 's/sleep, 1d/sleep, 2d/' "$tmp/app.yaml" >"$tmp/app2.yaml"
echo '      - {name: side, image: busybox, env: [{name: A, value: b}]}' >>"$tmp/app2.yaml"
k apply -f "$tmp/app2.yaml" >"$tmp/out" 2>&1
check "kubectl apply configures, without warnings" bash -c "grep -qx 'deployment.apps/web configured' '$tmp/out' && ! grep -qi warning '$tmp/out'"
check "kubectl apply sends a strategic merge patch keyed by container name, asking for strict validation" python3 - "$tmp/patches" <<'EOF'
import json, sys
p = [json.loads(l) for l in open(sys.argv[1])][-1]
spec = p['patch']['spec']['template']['spec']
assert p['type'] == 'application/strategic-merge-patch+json', p['type']
assert 'fieldValidation=Strict' in p['query'], p['query']
assert spec['$setElementOrder/containers'] == [{'name': 'c'}, {'name': 'side'}], spec
assert p['patch']['spec']['replicas'] == 3
EOF

bad=
for r in namespaces nodes pods services endpoints configmaps secrets events serviceaccounts \
	resourcequotas limitranges persistentvolumeclaims deployments replicasets statefulsets \
	daemonsets controllerrevisions jobs cronjobs leases endpointslices roles rolebindings \
	clusterroles clusterrolebindings certificatesigningrequests; do
	k explain "$r" >"$tmp/out" 2>&1 && grep -q '^KIND:' "$tmp/out" || bad="$bad $r"
done
check "explain works for every served resource${bad:+ (failed:$bad)}" test -z "$bad"
finish
