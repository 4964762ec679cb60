# api_compat: Debian's kubectl 1.20 and the Python client against tug server (list then
# watch from a resourceVersion, 409 on a stale update, 410 after compaction), and bad input:
# each gets the right Status and the server stays up.
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
tmp=$(mktemp -d /tmp/tug-e2e-compat.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Short history so that a test can outlive it: compaction beyond 100 revisions.
"$TUG" server --data-dir "$tmp/data" --volatile-dir "$tmp/vol" --bind-address 127.0.0.1 \
	--https-listen-port 0 --write-kubeconfig "$tmp/kubeconfig" --disable-agent \
	--store-checkpoint-interval 200ms --store-retention-revisions 100 >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 150); do
	[ -f "$tmp/kubeconfig" ] && kubectl --kubeconfig "$tmp/kubeconfig" get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.1
done
server=$(sed -n 's/^ *server: //p' "$tmp/kubeconfig")
# curl with the admin certificate from the kubeconfig.
grep client-certificate-data "$tmp/kubeconfig" | awk '{print $2}' | base64 -d >"$tmp/crt"
grep client-key-data "$tmp/kubeconfig" | awk '{print $2}' | base64 -d >"$tmp/key"
C() { curl -sk --cert "$tmp/crt" --key "$tmp/key" "$@"; }

# --- kubectl 1.20 ----------------------------------------------------------------------
if [ -n "${KUBECTL_1_20:-}" ] && [ -x "$KUBECTL_1_20" ]; then
	K20="$KUBECTL_1_20 --kubeconfig $tmp/kubeconfig"
	check "kubectl 1.20: get namespaces" bash -c "$K20 get ns | grep -q kube-system"
	check "kubectl 1.20: create deployment" bash -c "$K20 create deployment old --image=busybox | grep -q created"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c20\ndata:\n  a: "1"\n' >"$tmp/c20.yaml"
	check "kubectl 1.20: apply creates" bash -c "$K20 apply -f $tmp/c20.yaml | grep -q created"
	check "kubectl 1.20: apply again is unchanged" bash -c "$K20 apply -f $tmp/c20.yaml | grep -q unchanged"
	check "kubectl 1.20: get -o yaml" bash -c "$K20 get cm c20 -o yaml | grep -q 'a: \"1\"'"
	check "kubectl 1.20: explain from the protobuf OpenAPI" bash -c "$K20 explain pod.spec.containers | grep -q RESOURCE"
	check "kubectl 1.20: delete" bash -c "$K20 delete cm c20 | grep -q deleted"
else
	skip "kubectl 1.20 checks (no KUBECTL_1_20)"
fi

# --- the Python client: list/watch, 409, 410 ------------------------------------------
cat >"$tmp/py.py" <<'P'
import sys, threading, time
from kubernetes import client, config, watch
config.load_kube_config(sys.argv[1])
v1 = client.CoreV1Api()
lst = v1.list_namespaced_config_map("default")
rv = lst.metadata.resource_version
def maker():
    v1.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py1")))
threading.Timer(0.5, maker).start()
w = watch.Watch()
seen = None
for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=20):
    if ev["object"].metadata.name == "py1":
        seen = ev["type"]
        w.stop()
assert seen == "ADDED", "watch from %s saw %s" % (rv, seen)
print("watch ok")
cm = v1.read_namespaced_config_map("py1", "default")
old = cm.metadata.resource_version
cm.data = {"k": "v"}
v1.replace_namespaced_config_map("py1", "default", cm)
cm.metadata.resource_version = old
try:
    v1.replace_namespaced_config_map("py1", "default", cm)
    raise SystemExit("stale update accepted")
except client.exceptions.ApiException as e:
    assert e.status == 409, e.status
print("409 ok")
# Push history past the retention (100 revisions), then watch from the old revision.
for i in range(150):
    v1.patch_namespaced_config_map("py1", "default", {"data": {"n": str(i)}})
time.sleep(1.5)
try:
    for ev in watch.Watch().stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5):
        if ev["type"] == "ERROR":
            raise client.exceptions.ApiException(status=ev["raw_object"]["code"])
    raise SystemExit("watch from a compacted revision was not refused")
except client.exceptions.ApiException as e:
    assert e.status == 410, e.status
try:
    v1.list_namespaced_config_map("default", resource_version=rv, resource_version_match="Exact")
    raise SystemExit("list at a compacted revision was accepted")
except client.exceptions.ApiException as e:
    assert e.status == 410, e.status
print("410 ok")
P
out=$(/usr/bin/python3 "$tmp/py.py" "$tmp/kubeconfig" 2>&1)
check "python: list, then watch from its resourceVersion" grep -q "watch ok" <<<"$out"
check "python: 409 Conflict on a stale update" grep -q "409 ok" <<<"$out"
check "python: 410 Gone past compaction (watch and exact list)" grep -q "410 ok" <<<"$out"
[ -n "$(grep -v ok <<<"$out")" ] && echo "# $out" | head -5

# --- bad input ------------------------------------------------------------------------
code() { C -o "$tmp/body" -w '%{http_code}' "$@"; }
reason() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("reason",""))' "$tmp/body" 2>/dev/null; }
U="$server/api/v1/namespaces/default/configmaps"
check "malformed JSON is 400 BadRequest" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o $tmp/b1 -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '{\"metadata\": ' $U) = 400 ]"
check "malformed YAML is 400" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o $tmp/b2 -w '%{http_code}' -X POST -H 'Content-Type: application/yaml' --data-binary \$'metadata:\n  name: [x\n' $U) = 400 ]"
check "wrong apiVersion is 400" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '{\"apiVersion\":\"apps/v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}' $U) = 400 ]"
check "a kind that does not match the URL is 400" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"x\"}}' $U) = 400 ]"
long=$(head -c 300 /dev/zero | tr '\0' a)
check "an over-long name is 422 Invalid" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o $tmp/b3 -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '{\"metadata\":{\"name\":\"$long\"}}' $U) = 422 ] && grep -q '\"reason\":\"Invalid\"' $tmp/b3"
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' x >"$tmp/big"
check "a 10 MiB body is 413" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary @$tmp/big $U) = 413 ]"
check "an unknown media type is 415" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/csv' --data 'a,b' $U) = 415 ]"
check "a patch of an unknown type is 415" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' --data '{}' $U/py1) = 415 ]"
check "an unknown resource is 404" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' $server/api/v1/nothings) = 404 ]"
check "a bad label selector is 400" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' '$U?labelSelector=a%20in%20(' ) = 400 ]"
check "an unsupported field selector is 400" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' '$U?fieldSelector=spec.nope=1') = 400 ]"
# Slow and half-closed clients do not hurt anyone.
python3 - "$server" "$tmp/crt" "$tmp/key" <<'P' >"$tmp/slow" 2>&1 &
import socket, ssl, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
s = ctx.wrap_socket(socket.create_connection((u.hostname, u.port)))
s.sendall(b"GET /api/v1/namespaces/default/configmaps?watch=1 HTTP/1.1\r\nHost: x\r\n")
time.sleep(2)
w = ctx.wrap_socket(socket.create_connection((u.hostname, u.port)))
w.sendall(b"GET /api/v1/namespaces/default/configmaps?watch=1 HTTP/1.1\r\nHost: x\r\n\r\n")
w.recv(100)
w.shutdown(socket.SHUT_WR)
time.sleep(1)
print("done")
P
slow=$!
sleep 1
check "the server answers while a client is slow" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' $server/api/v1/namespaces) = 200 ]"
wait "$slow"
check "the server answers after a half-closed watch" bash -c "[ \$(curl -sk --cert $tmp/crt --key $tmp/key -o /dev/null -w '%{http_code}' $server/api/v1/namespaces) = 200 ]"
check "the server is still the same process" kill -0 "$pid"

kill "$pid"
wait "$pid"
rc=$?
pid=
check "server stops cleanly" test "$rc" -eq 0
finish
