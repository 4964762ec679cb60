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

# LIST of 1,000 pods: one connection, latency from wrk; beside it nginx serving the same list
# as a static file (a second nginx: start_nginx serves one file).
list_url="https://127.0.0.1:$PORT/api/v1/namespaces/default/pods"
curl -sfk -H "$AUTH" "$list_url" >"$tmp/list.json"
size=$(stat -c %s "$tmp/list.json")
mkdir -p "$tmp/n2"
tmp0=$tmp
tmp=$tmp0/n2
start_nginx "$tmp0/list.json" "$tmp0/d1/server/tls/serving.crt" "$tmp0/d1/server/tls/serving.key" ||
	{ tmp=$tmp0; echo "bench api: nginx for the list"; exit 2; }
tmp=$tmp0
ngx_list_port=$NGX_HTTPS_PORT
lat() { wrk -t1 -c1 -d"${SECS}s" --latency "$@" 2>&1 | awk '/^ +50%/ {a = $2} /^ +99%/ {b = $2} END {print a, b}'; }
for ((i = 1; i <= ROUNDS; i++)); do
	read -r a b < <(lat -H "$AUTH" "$list_url")
	read -r c d < <(lat "https://127.0.0.1:$ngx_list_port/json")
	echo "  round $i: tug p50 $a p99 $b; nginx (same bytes, static) p50 $c p99 $d"
done
echo "bench api: LIST 1,000 pods ($size bytes) over TLS, one connection: rounds above (goal < 20 ms)"

# One write fanned out to 100 watchers: time from sending the write to each watcher's event,
# measured by a C client on epoll (a Python client's own per-socket cost hid the server's).
fan=()
for ((i = 1; i <= ROUNDS; i++)); do
	out=$("$O/tools/watch_fanout" "$PORT" "$TOK" 100 30) || { echo "bench api: fan-out failed"; exit 2; }
	fan+=("$(sed -n 's/.* p99 \([0-9.]*\) ms,.*/\1/p' <<<"$out")")
	echo "  round $i: $out"
done
echo "bench api: one write to 100 watchers: delivery p99 median of $ROUNDS rounds $(median "${fan[@]}") ms (goal p99 < 5 ms)"
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
