# http: raw serving speed of core/http against nginx, both answering the same small JSON
# body (a pod, ~430 bytes) on loopback, load from wrk; plain HTTP and TLS 1.2 with the same
# ECDSA P-256 certificate and cipher. Both servers run one process/thread (tug is one
# event loop); rounds alternate so background load hurts both alike.
#
#   BENCH_SECONDS=10 BENCH_CONNS=50 BENCH_ROUNDS=3 test/bench/http.sh
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-50}
ROUNDS=${BENCH_ROUNDS:-3}
O=build/release
tmp=$(mktemp -d /tmp/tug-bench-http.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid" 2>/dev/null)" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

for t in wrk nginx openssl; do
	command -v "$t" >/dev/null || { echo "bench http: $t is missing (scripts/deps --bench)"; exit 2; }
done
[ -f "$O/.config" ] || make --no-print-directory O=$O x86_64_defconfig >/dev/null
make --no-print-directory -j"$(nproc)" O=$O tools >/dev/null || exit 2
HTTPD=$O/tools/httpd

. test/bench/lib.sh

# The body both serve: httpd's built-in pod, written out for nginx.
cat >"$tmp/pod.json" <<'EOF'
{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-0","namespace":"default","uid":"6b1f3c1e-8a53-4a53-9e4b-0c8f1d6f2a11","resourceVersion":"1042","creationTimestamp":"2024-05-01T10:00:00Z","labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"busybox:1.36","command":["httpd","-f"],"resources":{"limits":{"cpu":"100m","memory":"64Mi"}}}],"nodeName":"pi-1"},"status":{"phase":"Running","podIP":"10.42.0.7"}}
EOF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -days 1 -out "$tmp/cert.pem" 2>/dev/null

tp=$(free_port)
ts=$(free_port)
"$HTTPD" --port "$tp" --body "$tmp/pod.json" --max-conns 4096 2>"$tmp/httpd.log" &
pids+=($!)
tug_pid=$!
"$HTTPD" --port "$ts" --body "$tmp/pod.json" --max-conns 4096 --cert "$tmp/cert.pem" \
	--key "$tmp/key.pem" 2>"$tmp/httpd-tls.log" &
pids+=($!)
tug_tls_pid=$!

start_nginx "$tmp/pod.json" "$tmp/cert.pem" "$tmp/key.pem" || exit 2
np=$NGX_HTTP_PORT
ns=$NGX_HTTPS_PORT
for _ in $(seq 100); do
	curl -sf -o /dev/null "http://127.0.0.1:$tp/json" && curl -sfk -o /dev/null "https://127.0.0.1:$ts/json" &&
		curl -sfk -o /dev/null "https://127.0.0.1:$ns/json" && break
	sleep 0.1
done
a=$(curl -sS "http://127.0.0.1:$tp/json" | sha256sum)
b=$(curl -sS "http://127.0.0.1:$np/json" | sha256sum)
[ "$a" = "$b" ] || { echo "bench http: the two servers do not send the same body"; exit 2; }

run() { wrk_run "$1" "$2" "$CONNS" "$SECS"; }
ngx_worker=$NGX_WORKER
declare -A rps cpu
for kind in http https; do
	for ((i = 1; i <= ROUNDS; i++)); do
		if [ $kind = http ]; then
			read -r t tc < <(run "http://127.0.0.1:$tp/json" "$tug_pid")
			read -r n nc < <(run "http://127.0.0.1:$np/json" "$ngx_worker")
		else
			read -r t tc < <(run "https://127.0.0.1:$ts/json" "$tug_tls_pid")
			read -r n nc < <(run "https://127.0.0.1:$ns/json" "$ngx_worker")
		fi
		rps[$kind-tug]="${rps[$kind-tug]:-} $t"
		rps[$kind-nginx]="${rps[$kind-nginx]:-} $n"
		cpu[$kind-tug]="${cpu[$kind-tug]:-} $tc"
		cpu[$kind-nginx]="${cpu[$kind-nginx]:-} $nc"
	done
done

echo "bench http: GET /json ($(stat -c %s "$tmp/pod.json")-byte pod) on loopback; wrk -t1 -c$CONNS -d${SECS}s; median of $ROUNDS rounds"
printf '  %-6s %10s %12s %7s   %16s %16s %7s\n' "" "tug req/s" "nginx req/s" "ratio" \
	"tug CPU us/req" "nginx CPU us/req" "ratio"
for kind in http https; do
	# shellcheck disable=SC2086
	t=$(median ${rps[$kind-tug]})
	# shellcheck disable=SC2086
	n=$(median ${rps[$kind-nginx]})
	# shellcheck disable=SC2086
	tc=$(median ${cpu[$kind-tug]})
	# shellcheck disable=SC2086
	nc=$(median ${cpu[$kind-nginx]})
	r1=$(awk -v a="$t" -v b="$n" 'BEGIN {printf "%.2f", b ? a / b : 0}')
	r2=$(awk -v a="$nc" -v b="$tc" 'BEGIN {printf "%.2f", b ? a / b : 0}')
	printf '  %-6s %10s %12s %7s   %16s %16s %7s\n' "$kind" "$t" "$n" "$r1" "$tc" "$nc" "$r2"
done
echo "  rounds req/s: http tug${rps[http-tug]} | nginx${rps[http-nginx]}; https tug${rps[https-tug]} | nginx${rps[https-nginx]}"
echo "  RSS after the runs: tug http $(rss_kb $tug_pid) KiB, tug https $(rss_kb $tug_tls_pid) KiB," \
	"nginx worker $(rss_kb "$ngx_worker") KiB (serves both)"
echo "  ratio > 1: tug ahead (req/s: tug/nginx; CPU: nginx/tug). $(nproc) cores shared with wrk"
echo "  and anything else running; CPU per request is the steadier figure on a busy machine."
