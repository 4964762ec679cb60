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
chmod 755 "$tmp" # nginx's workers run as www-data
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The body both serve: httpd's built-in pod, written out for nginx.
cat >"$tmp/pod.json" <<'EOF'
{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-0","namespace":"default","uid":"6b1f3c1e-8a53-4a53-9e4b-0c8f1d6f2a11","resourceVersion":"1042","creationTimestamp":"2024-05-01T10:00:00Z","labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"busybox:1.36","command":["httpd","-f"],"resources":{"limits":{"cpu":"100m","memory":"64Mi"}}}],"nodeName":"pi-1"},"status":{"phase":"Running","podIP":"10.42.0.7"}}
EOF
chmod 644 "$tmp/pod.json"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -days 1 -out "$tmp/cert.pem" 2>/dev/null
chmod 644 "$tmp/key.pem" "$tmp/cert.pem"

tp=$(free_port)
ts=$(free_port)
"$HTTPD" --port "$tp" --body "$tmp/pod.json" --max-conns 4096 2>"$tmp/httpd.log" &
pids+=($!)
tug_pid=$!
"$HTTPD" --port "$ts" --body "$tmp/pod.json" --max-conns 4096 --cert "$tmp/cert.pem" \
	--key "$tmp/key.pem" 2>"$tmp/httpd-tls.log" &
pids+=($!)
tug_tls_pid=$!

np=$(free_port)
ns=$(free_port)
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 4096; }
http {
	# nginx at its best for a small static file: no log, cached descriptor.
	access_log off;
	open_file_cache max=16 inactive=600s;
	open_file_cache_valid 600s;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000000;
	keepalive_timeout 90s;
	types { application/json json; }
	server {
		listen 127.0.0.1:$np;
		location = /json { alias $tmp/pod.json; }
	}
	server {
		listen 127.0.0.1:$ns ssl;
		ssl_certificate $tmp/cert.pem;
		ssl_certificate_key $tmp/key.pem;
		ssl_protocols TLSv1.2;
		ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;
		location = /json { alias $tmp/pod.json; }
	}
}
EOF
nginx -c "$tmp/nginx.conf" -p "$tmp" -g 'daemon off;' 2>"$tmp/nginx.out" &
pids+=($!)
for _ in $(seq 100); do
	curl -sf -o /dev/null "http://127.0.0.1:$tp/json" && curl -sf -o /dev/null "http://127.0.0.1:$np/json" &&
		curl -sfk -o /dev/null "https://127.0.0.1:$ts/json" && curl -sfk -o /dev/null "https://127.0.0.1:$ns/json" && break
	sleep 0.1
done
if ! curl -sf -o /dev/null "http://127.0.0.1:$np/json"; then
	echo "bench http: nginx did not come up:"
	cat "$tmp/nginx.out" "$tmp/nginx-error.log" 2>/dev/null | tail -5
	exit 2
fi
a=$(curl -sS "http://127.0.0.1:$tp/json" | sha256sum)
b=$(curl -sS "http://127.0.0.1:$np/json" | sha256sum)
[ "$a" = "$b" ] || { echo "bench http: the two servers do not send the same body"; exit 2; }

# run <url> <server pid>: "<requests/s> <server CPU microseconds per request>" from one wrk
# run. CPU per request holds steady when other work shares the cores; requests/s does not.
CLK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {
	local before after out
	before=$(cpu_ticks "$2")
	out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" "$1" 2>&1)
	after=$(cpu_ticks "$2")
	awk -v b="$before" -v a="$after" -v clk="$CLK" '
		/ requests in / {n = $1}
		/^Requests\/sec:/ {r = $2}
		/Non-2xx/ {bad = 1}
		END {if (bad || !n) print "0 0"; else printf "%d %.1f\n", r, (a - b) * 1e6 / clk / n}' <<<"$out"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

ngx_worker=$(pgrep -P "$(cat "$tmp/nginx.pid")" | head -1)
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
