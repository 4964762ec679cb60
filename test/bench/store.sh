# store: tug's store beside etcd 3.4 (Debian's etcd-server, default durability), one run,
# same disk: sequential durable 1 KiB puts, 16 concurrent writers, a range of 1,000 keys,
# watch delivery, bytes written per small update; plus the store's RSS and binary sizes.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
B=build/bench
make -s O=$B x86_64_defconfig >/dev/null && make -s -j"$(nproc)" O=$B tug tools >/dev/null || exit 1
work=$(mktemp -d /tmp/tug-bench-store.XXXXXX)
etcd_pid=
cleanup() {
	[ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null && wait "$etcd_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Free loopback ports for etcd.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
peer=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

tug_json=$("$B/tools/store_load" --dir "$work/tug") || exit 1

etcd_json=
etcd_small=
etcd_rss=
start_etcd() {
	rm -rf "$work/etcd"
	etcd --data-dir "$work/etcd" --name bench \
		--listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "bench=http://127.0.0.1:$peer" >"$work/etcd.log" 2>&1 &
	etcd_pid=$!
	for _ in $(seq 100); do
		grep -q "ready to serve client requests" "$work/etcd.log" && break
		sleep 0.1
	done
}
stop_etcd() {
	kill "$etcd_pid" 2>/dev/null
	wait "$etcd_pid" 2>/dev/null
	etcd_pid=
}
wbytes() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }
if [ -x "$B/tools/etcd_load" ] && command -v etcd >/dev/null; then
	# Small updates on a fresh etcd, as on a fresh store: 1,000 puts of 100 B, then a
	# pause for its backend commit (every 100 ms) before reading what it wrote.
	start_etcd
	w0=$(wbytes "$etcd_pid")
	"$B/tools/etcd_load" --endpoint "127.0.0.1:$port" --puts 1000 --value-size 100 \
		--concurrent-puts 0 --range-keys 0 --watch-events 0 >/dev/null
	sleep 1.5
	etcd_small=$(( ($(wbytes "$etcd_pid") - w0) / 1000 ))
	stop_etcd
	start_etcd
	etcd_json=$("$B/tools/etcd_load" --endpoint "127.0.0.1:$port")
	etcd_rss=$(awk '/^VmRSS/ {print $2}' "/proc/$etcd_pid/status")
	stop_etcd
fi

python3 - "$tug_json" "$etcd_json" "$etcd_small" "$etcd_rss" <<'PY'
import json, sys
t = json.loads(sys.argv[1])
e = None
if sys.argv[2].strip():
    r = json.loads(sys.argv[2])
    e = {"seq_put_ops": r["seq_put"]["ops_per_s"], "conc_put_ops": r["concurrent_put"]["ops_per_s"],
         "range_1000_us": r["range"]["p50_ms"] * 1000,
         "watch_p50_us": (r.get("watch") or {}).get("p50_ms", 0) * 1000,
         "watch_p99_us": (r.get("watch") or {}).get("p99_ms", 0) * 1000,
         "bytes_per_small_update": float(sys.argv[3]) if sys.argv[3] else None,
         "rss_kb": int(sys.argv[4]) if sys.argv[4] else None}
def row(name, tv, ev, unit, better):
    if e is None or ev in (None, 0):
        print(f"{name:<34} tug {tv:>12,.1f} {unit:<8}  etcd {'n/a':>12}")
        return
    ratio = tv / ev if better == "higher" else ev / tv
    print(f"{name:<34} tug {tv:>12,.1f} {unit:<8}  etcd {ev:>12,.1f} {unit:<8}  {ratio:6.1f}x")
print(f"{'':<34} {'(ratio: how many times better tug is)'}")
row("sequential durable puts (1 KiB)", t["seq_put_ops"], e and e.get("seq_put_ops"), "ops/s", "higher")
row(f"{t['writers']} concurrent writers (1 KiB)", t["conc_put_ops"], e and e.get("conc_put_ops"), "ops/s", "higher")
row("range of 1,000 keys", t["range_1000_us"], e and e.get("range_1000_us"), "us", "lower")
row("watch delivery p50 (write to event)", t["watch_p50_us"], e and e.get("watch_p50_us"), "us", "lower")
row("watch delivery p99", t["watch_p99_us"], e and e.get("watch_p99_us"), "us", "lower")
row("bytes written per small update", t["bytes_per_small_update"], e and e.get("bytes_per_small_update"), "B", "lower")
print(f"tug store process: RSS {t['rss_kb']} KiB (peak {t['hwm_kb']} KiB), LMDB {t['db_bytes']//1024} KiB, "
      f"{t['txns']} writes in {t['syncs']} log syncs")
if e and e.get("rss_kb"):
    print(f"etcd process: RSS {e['rss_kb']} KiB")
PY
scripts/size 2>/dev/null | sed 's/^/binary size: /'
