# etcd_load: the gRPC channel over TCP against a real etcd 3.4 (KV Put/Range, Watch stream),
# with small counts: the tool's JSON line carries every figure and no errors.
. "$TOP/test/lib.sh"
B=${TUG_BUILD:-$TOP/build}
if ! command -v etcd >/dev/null; then
	skip "etcd is not installed"
	finish
	exit 0
fi
tmp=$(mktemp -d /tmp/tug-cri-etcd-XXXXXX)
epid=
cleanup() {
	[ -n "$epid" ] && kill "$epid" 2>/dev/null && wait "$epid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
etcd --name tcri --data-dir "$tmp/etcd" --listen-client-urls "http://127.0.0.1:$port" \
	--advertise-client-urls "http://127.0.0.1:$port" \
	--listen-peer-urls "http://127.0.0.1:$((port + 1))" \
	--initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
	--initial-cluster "tcri=http://127.0.0.1:$((port + 1))" >"$tmp/etcd.log" 2>&1 &
epid=$!
"$B/tools/etcd_load" --endpoint "127.0.0.1:$port" --puts 200 --concurrent-puts 400 --writers 8 \
	--range-keys 100 --range-reps 5 --watch-events 20 --timeout-ms 20000 >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/out"
check "etcd_load exits 0" test "$rc" -eq 0
out=$(cat "$tmp/out")
check "sequential puts are measured" grep -q '"seq_put":{"ops":200,"ops_per_s":[1-9]' <<<"$out"
check "concurrent puts are measured" grep -q '"concurrent_put":{"writers":8,"ops":400,"ops_per_s":[1-9]' <<<"$out"
check "a range returns its 100 keys" grep -q '"range":{"keys":100,' <<<"$out"
check "watch events arrive" grep -q '"watch":{"events":20,' <<<"$out"
check "no call failed" grep -q '"errors":0}' <<<"$out"
"$B/tools/etcd_load" --endpoint 127.0.0.1:1 --timeout-ms 500 >/dev/null 2>"$tmp/err"
rc=$?
check "an unreachable endpoint fails with a message" bash -c "[ $rc -ne 0 ] && grep -q 'UNAVAILABLE\|DEADLINE' '$tmp/err'"
finish
