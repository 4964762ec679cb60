# api: the API server beside nginx serving the same JSON as a static file, both over TLS 1.2
# (same ECDSA certificate and cipher), load from wrk on loopback: GET one pod; then LIST of
# 1,000 pods, one write fanned out to 100 watchers, and RSS with 10,000 pods stored.
#
#   BENCH_SECONDS=10 BENCH_ROUNDS=3 test/bench/api.sh
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
O=build/release
tmp=$(mktemp -d /tmp/tug-bench-api.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
. test/bench/lib.sh
for t in wrk nginx curl; do
	command -v "$t" >/dev/null || { echo "bench api: $t is missing (scripts/deps --bench)"; exit 2; }
done
[ -f "$O/.config" ] || make --no-print-directory O=$O x86_64_defconfig >/dev/null
make --no-print-directory -j"$(nproc)" O=$O tug tools >/dev/null || exit 2

# start_server <data dir> <pods>: fills the store, starts tug server, sets PORT, TOK, SRV.
# The API server alone, as nginx is alone: the in-process scheduler and controllers would
# otherwise work on the filled pods (whose nodes do not exist) while the load runs.
start_server() {
	"$O/tools/api_fill" --dir "$1/db" --pods "$2" >/dev/null || return 1
	PORT=$(free_port)
	"$O/tug" server --data-dir "$1" --volatile-dir "$1-vol" --bind-address 127.0.0.1 \
		--https-listen-port "$PORT" --write-kubeconfig "$1/kubeconfig" --disable-agent \
		--disable scheduler --disable controllers >"$1.log" 2>&1 &
	SRV=$!
	pids+=($SRV)
	for _ in $(seq 100); do
		curl -sfk -o /dev/null "https://127.0.0.1:$PORT/readyz" && break
		sleep 0.1
	done
	TOK=$(cat "$1/server/admin-token")
}

start_server "$tmp/d1" 1000 || { echo "bench api: server did not start"; exit 2; }
AUTH="Authorization: Bearer $TOK"
url="https://127.0.0.1:$PORT/api/v1/namespaces/default/pods/pod-1"
curl -sfk -H "$AUTH" "$url" >"$tmp/pod.json" || { echo "bench api: GET failed"; exit 2; }
start_nginx "$tmp/pod.json" "$tmp/d1/server/tls/serving.crt" "$tmp/d1/server/tls/serving.key" ||
	{ echo "bench api: nginx"; exit 2; }

# GET one pod: rounds alternate so background load hurts both alike.
t_r=() n_r=() t_c=() n_c=()
for ((i = 1; i <= ROUNDS; i++)); do
	read -r a b < <(wrk_run "$url" "$SRV" 50 "$SECS" -H "$AUTH")
	t_r+=("$a") t_c+=("$b")
	read -r a b < <(wrk_run "https://127.0.0.1:$NGX_HTTPS_PORT/json" "$NGX_WORKER" 50 "$SECS")
	n_r+=("$a") n_c+=("$b")
done
tr=$(median "${t_r[@]}") nr=$(median "${n_r[@]}") tc=$(median "${t_c[@]}") nc=$(median "${n_c[@]}")
echo "bench api: GET one pod ($(stat -c %s "$tmp/pod.json") bytes) over TLS, wrk -c50 -d${SECS}s, median of $ROUNDS"
printf '  tug %s req/s (%s us CPU/req), nginx %s req/s (%s us CPU/req): tug at %s%% of nginx (goal >= 50%%)\n' \
	"$tr" "$tc" "$nr" "$nc" "$(awk -v a="$tr" -v b="$nr" 'BEGIN {printf "%.0f", b ? 100 * a / b : 0}')"

# LIST of 1,000 pods: one connection, latency from wrk.
out=$(wrk -t1 -c1 -d"${SECS}s" --latency -H "$AUTH" "https://127.0.0.1:$PORT/api/v1/namespaces/default/pods" 2>&1)
p50=$(awk '/^ +50%/ {print $2}' <<<"$out")
p99=$(awk '/^ +99%/ {print $2}' <<<"$out")
size=$(curl -sfk -H "$AUTH" "https://127.0.0.1:$PORT/api/v1/namespaces/default/pods" | wc -c)
echo "bench api: LIST 1,000 pods ($size bytes): p50 $p50, p99 $p99 (goal < 20 ms)"

# One write fanned out to 100 watchers: time from sending the write to each watcher's event.
python3 - "$PORT" "$TOK" <<'P'
import socket, ssl, sys, time, json, select
port, tok = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def conn():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
    return s
def req(s, method, path, body=b"", ctype="application/json"):
    s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
              % (method.encode(), path.encode(), tok.encode(), ctype.encode(), len(body), body))
def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf: buf += s.recv(65536)
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
    while len(rest) < n: rest += s.recv(65536)
    return json.loads(rest[:n])
w = conn()
req(w, "POST", "/api/v1/namespaces/default/configmaps", json.dumps({"metadata": {"name": "fan"}, "data": {"n": "0"}}).encode())
cm = read_response(w)
rv = cm["metadata"]["resourceVersion"]
N, WRITES = 100, 30
watchers = []
for i in range(N):
    s = conn()
    req(s, "GET", "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%%3Dfan&resourceVersion=%s" % rv)
    s.setblocking(False)
    watchers.append([s, b""])
time.sleep(0.5)
for s, _ in watchers:
    try:
        while s.recv(65536): pass
    except (ssl.SSLWantReadError, BlockingIOError): pass
lat = []
for k in range(1, WRITES + 1):
    body = json.dumps({"data": {"n": str(k)}}).encode()
    t0 = time.perf_counter()
    req(w, "PATCH", "/api/v1/namespaces/default/configmaps/fan", body, "application/merge-patch+json")
    pending = {id(x[0]): x for x in watchers}
    while pending:
        r, _, _ = select.select([x[0] for x in pending.values()], [], [], 5)
        if not r: break
        for s in r:
            x = pending.get(id(s))
            try:
                while True:
                    d = s.recv(65536)
                    if not d: break
                    x[1] += d
            except (ssl.SSLWantReadError, BlockingIOError): pass
            if b'"n":"%d"' % k in x[1]:
                lat.append((time.perf_counter() - t0) * 1000)
                x[1] = b""
                del pending[id(s)]
    read_response(w)
lat.sort()
print("bench api: one write to %d watchers, %d writes: delivery p50 %.2f ms, p99 %.2f ms, %d of %d delivered (goal p99 < 5 ms)"
      % (N, WRITES, lat[len(lat)//2], lat[int(len(lat)*0.99)-1], len(lat), N * WRITES))
P
rss1=$(rss_kb "$SRV")
kill "$SRV"
wait "$SRV" 2>/dev/null

# RSS with 10,000 pods stored, after a LIST of all of them.
start_server "$tmp/d2" 10000 || { echo "bench api: server did not start"; exit 2; }
idle=$(rss_kb "$SRV")
curl -sfk -H "Authorization: Bearer $TOK" "https://127.0.0.1:$PORT/api/v1/pods" -o /dev/null
after=$(rss_kb "$SRV")
echo "bench api: RSS with 10,000 pods stored: $idle KiB at start, $after KiB after listing them all (goal < 30 MiB);"
echo "  with 1,000 pods after the runs above: $rss1 KiB"
