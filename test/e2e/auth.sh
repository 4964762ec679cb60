# auth: `tug server`'s PKI and kubeconfig as kubectl, curl, openssl and python meet them: made at
# first start, reused after, renewed when the names change; anonymous health, 401 otherwise.
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
tmp=$(mktemp -d /tmp/tug-e2e-auth.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	drop_routes_table
	rm -rf "$tmp"
}
trap cleanup EXIT
tls=$tmp/d/server/tls
kc=$tmp/kube/tug.yaml
n=0

# start [args...]: a server on 127.0.0.1 and a free port; sets $port from the kubeconfig.
start() {
	n=$((n + 1))
	rm -f "$kc"
	"$TUG" server --data-dir "$tmp/d" --volatile-dir "$tmp/v" --bind-address 127.0.0.1 \
		--https-listen-port 0 --write-kubeconfig "$kc" --service-cidr 10.96.0.0/12 \
		"$@" 2>"$tmp/log.$n" &
	pid=$!
	for _ in $(seq 100); do
		grep -q "running, data in" "$tmp/log.$n" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	port=$(sed -n 's|^    server: https://127.0.0.1:||p' "$kc" 2>/dev/null)
}
stop() {
	kill -TERM "$pid"
	wait "$pid"
	stop_rc=$?
	pid=
}
mode() { stat -c %a "$1"; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }
K() { kubectl --kubeconfig "$kc" "$@"; }

start --tls-san gw.example.com --tls-san 198.51.100.7
check "first start writes the kubeconfig" test -s "$kc"
check "the kubeconfig is 0600 by default" test "$(mode "$kc")" = 600
check "the TLS folder is 0700" test "$(mode "$tls")" = 700
check "private keys are 0600" test "$(mode "$tls/ca.key")$(mode "$tls/serving.key")$(mode "$tls/admin.key")" = 600600600
check "openssl verifies serving and admin certificates against the CA" \
	openssl verify -CAfile "$tls/ca.crt" "$tls/serving.crt" "$tls/admin.crt"
check "the CA is an ECDSA P-256 CA" \
	bash -c "openssl x509 -in '$tls/ca.crt' -noout -text | grep -q 'CA:TRUE' && openssl x509 -in '$tls/ca.crt' -noout -text | grep -q 'NIST CURVE: P-256'"
sans=$(openssl x509 -in "$tls/serving.crt" -noout -ext subjectAltName)
host=$(hostname | tr 'A-Z' 'a-z')
ok_sans=1
for want in "DNS:localhost" "IP Address:127.0.0.1" "IP Address:10.96.0.1" "DNS:kubernetes" \
	"DNS:kubernetes.default" "DNS:kubernetes.default.svc" "DNS:kubernetes.default.svc.cluster.local" \
	"DNS:gw.example.com" "IP Address:198.51.100.7" "DNS:$host"; do
	grep -qF "$want," <<<"$sans," || {
		echo "# missing SAN $want in: $sans"
		ok_sans=0
	}
done
check "the serving certificate names host, loopback, service IP, kubernetes.* and --tls-san" test $ok_sans = 1
check "the admin certificate is system:admin in system:masters" \
	bash -c "openssl x509 -in '$tls/admin.crt' -noout -subject | grep -q 'O = system:masters, CN = system:admin'"

# kubectl, as it comes, with the written kubeconfig.
check "kubectl get --raw /healthz says ok" test "$(K get --raw /healthz 2>&1)" = ok
check "kubectl get --raw /livez and /readyz say ok" test "$(K get --raw /livez)$(K get --raw /readyz)" = okok
out=$(K get --raw /version 2>&1)
check "kubectl get --raw /version names Kubernetes 1.32" grep -q '"gitVersion": "v1.32' <<<"$out"
out=$(K version 2>&1)
check "kubectl version shows the server version" grep -q "Server Version: v1.32" <<<"$out"
out=$(K get --raw /api/v1/nothing-here 2>&1)
check "an authenticated request to an unknown path is 404 NotFound" grep -q "NotFound" <<<"$out"

# Without a client certificate only the health and version endpoints answer.
code=$(curl -sS -o "$tmp/401" -w '%{http_code}' --cacert "$tls/ca.crt" "https://127.0.0.1:$port/api/v1/pods")
check "no client certificate: /api gets 401" test "$code" = 401
check "the 401 is a Status object with reason Unauthorized" \
	grep -q '"kind":"Status".*"reason":"Unauthorized","code":401' "$tmp/401"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$tls/ca.crt" "https://127.0.0.1:$port/healthz")
check "no client certificate: /healthz is 200" test "$code" = 200
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$tls/ca.crt" "https://localhost:$port/version")
check "no client certificate: /version is 200 (and localhost is a SAN)" test "$code" = 200
cat >"$tmp/anon.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: $tls/ca.crt
    server: https://127.0.0.1:$port
  name: c
contexts:
- context: {cluster: c, user: anon}
  name: c
current-context: c
users:
- name: anon
  user: {token: not-a-credential-tug-knows}
EOF
out=$(kubectl --kubeconfig "$tmp/anon.kubeconfig" get --raw /api/v1/namespaces 2>&1)
check "kubectl without a client certificate is told Unauthorized" grep -qi "Unauthorized" <<<"$out"
check "kubectl without a client certificate still gets /healthz" \
	test "$(kubectl --kubeconfig "$tmp/anon.kubeconfig" get --raw /healthz 2>&1)" = ok

# A client certificate from another CA is no credential.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/rogue.key" \
	-subj "/O=system:masters/CN=system:admin" -days 1 -out "$tmp/rogue.crt" 2>/dev/null
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$tls/ca.crt" --cert "$tmp/rogue.crt" \
	--key "$tmp/rogue.key" "https://127.0.0.1:$port/api")
check "a self-made system:masters certificate gets 401" test "$code" = 401

# Names the clients inside the cluster use verify too.
out=$(python3 - "$port" "$tls" <<'EOF'
import ssl, socket, sys
port, d = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=d + "/ca.crt")
ctx.set_alpn_protocols(["h2", "http/1.1"])
res = []
for name in ["kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.96.0.1"]:
    with socket.create_connection(("127.0.0.1", port)) as s:
        with ctx.wrap_socket(s, server_hostname=name) as t:
            res.append(t.selected_alpn_protocol())
print(",".join(res))
EOF
)
check "python verifies kubernetes.default.svc, the FQDN and the service IP, over http/1.1" \
	test "$out" = "http/1.1,http/1.1,http/1.1"
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
check "plain HTTP to the API port gets 400" test "$code" = 400
printf '\x16\x03\x01\x00\x10garbage-garbage!' | timeout 15 python3 -c "
import socket,sys
s=socket.create_connection(('127.0.0.1',$port)); s.sendall(sys.stdin.buffer.read()); s.settimeout(12)
try: s.recv(10)
except Exception: pass"
check "after TLS garbage kubectl still gets in" test "$(K get --raw /healthz 2>&1)" = ok

stop
check "SIGTERM stops the server with status 0" test "$stop_rc" -eq 0
ca1=$(sha "$tls/ca.crt")
srv1=$(sha "$tls/serving.crt")
adm1=$(sha "$tls/admin.crt")

# Second start: the same CA and certificates; the kubeconfig names the new port.
start --tls-san gw.example.com --tls-san 198.51.100.7
check "restart reuses CA, serving and admin certificates" \
	test "$(sha "$tls/ca.crt")$(sha "$tls/serving.crt")$(sha "$tls/admin.crt")" = "$ca1$srv1$adm1"
check "kubectl works with the rewritten kubeconfig" test "$(K get --raw /healthz 2>&1)" = ok
stop

# A new --tls-san: a new serving certificate, the rest kept; the mode asked for is honoured.
start --tls-san gw.example.com --tls-san 198.51.100.7 --tls-san new.example.com \
	--write-kubeconfig-mode 0644
check "a new --tls-san renews only the serving certificate" \
	test "$(sha "$tls/ca.crt")$(sha "$tls/admin.crt")" = "$ca1$adm1" -a "$(sha "$tls/serving.crt")" != "$srv1"
check "the renewed certificate names the new SAN" \
	bash -c "openssl x509 -in '$tls/serving.crt' -noout -ext subjectAltName | grep -q DNS:new.example.com"
check "--write-kubeconfig-mode 0644 is honoured" test "$(mode "$kc")" = 644
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$tls/ca.crt" \
	--resolve "new.example.com:$port:127.0.0.1" "https://new.example.com:$port/readyz")
check "clients reach it by the new name" test "$code" = 200
stop

# Half a CA is refused rather than replaced.
mv "$tls/ca.key" "$tmp/ca.key.saved"
start
wait "$pid" 2>/dev/null
rc=$?
pid=
check "a missing ca.key stops the server with a message naming it" \
	bash -c "[ $rc -ne 0 ] && grep -q 'ca.key' '$tmp/log.$n'"
check "the CA certificate was left alone" test "$(sha "$tls/ca.crt")" = "$ca1"
finish
