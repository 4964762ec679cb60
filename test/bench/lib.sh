# test/bench/lib.sh: what several benchmarks share: free ports, wrk runs measured in requests/s
# and server CPU per request, medians, RSS, and an nginx serving one static JSON file.
# Source it after setting tmp (a temp dir the caller removes) and pids (an array of PIDs the
# caller kills on exit).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

CLK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wrk_run <url> <server pid> <conns> <secs> [wrk args...]: "<requests/s> <server CPU us/request>".
# CPU per request holds steady when other work shares the cores; requests/s does not.
wrk_run() {
	local url=$1 pid=$2 conns=$3 secs=$4 before after out
	shift 4
	before=$(cpu_ticks "$pid")
	out=$(wrk -t1 -c"$conns" -d"${secs}s" "$@" "$url" 2>&1)
	after=$(cpu_ticks "$pid")
	awk -v b="$before" -v a="$after" -v clk="$CLK" '
		/ requests in / {n = $1}
		/^Requests\/sec:/ {r = $2}
		/Non-2xx/ {bad = 1}
		END {if (bad || !n) print "0 0"; else printf "%d %.1f\n", r, (a - b) * 1e6 / clk / n}' <<<"$out"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# start_nginx <json file> <cert> <key>: one worker serving the file at /json on NGX_HTTP_PORT
# (plain) and NGX_HTTPS_PORT (TLS 1.2, ECDSA, AES128-GCM); sets NGX_WORKER to its PID.
start_nginx() {
	local json=$1 cert=$2 key=$3
	NGX_HTTP_PORT=$(free_port)
	NGX_HTTPS_PORT=$(free_port)
	chmod 755 "$tmp" # nginx's workers run as www-data
	chmod 644 "$json" "$cert" "$key"
	cat >"$tmp/nginx.conf" <<NGX
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
		listen 127.0.0.1:$NGX_HTTP_PORT;
		location = /json { alias $json; }
	}
	server {
		listen 127.0.0.1:$NGX_HTTPS_PORT ssl;
		ssl_certificate $cert;
		ssl_certificate_key $key;
		ssl_protocols TLSv1.2;
		ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;
		location = /json { alias $json; }
	}
}
NGX
	nginx -c "$tmp/nginx.conf" -p "$tmp" -g 'daemon off;' 2>"$tmp/nginx.out" &
	pids+=($!)
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$NGX_HTTP_PORT/json" && break
		sleep 0.1
	done
	if ! curl -sf -o /dev/null "http://127.0.0.1:$NGX_HTTP_PORT/json"; then
		echo "nginx did not come up:"
		cat "$tmp/nginx.out" "$tmp/nginx-error.log" 2>/dev/null | tail -5
		return 1
	fi
	NGX_WORKER=$(pgrep -P "$(cat "$tmp/nginx.pid")" | head -1)
}
