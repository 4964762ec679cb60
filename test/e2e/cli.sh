# cli: the tug binary's commands, flags, config file and clean shutdown, as a user meets them.
. "$TOP/test/lib.sh"
TUG=${TUG:-$TOP/build/tug}
tmp=$(mktemp -d /tmp/tug-e2e-cli.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	drop_routes_table
	rm -rf "$tmp"
}
trap cleanup EXIT

out=$("$TUG" version)
check "version names the board" grep -q "^board " <<<"$out"
check "version lists the features" grep -q "^features:" <<<"$out"
check "--help lists the commands" bash -c "'$TUG' --help | grep -q check-config"
check "server --help lists k3s-style flags" bash -c "'$TUG' server --help | grep -q -- --write-kubeconfig"
"$TUG" bogus >/dev/null 2>"$tmp/err"
rc=$?
check "an unknown command exits 2" test "$rc" -eq 2
check "an unknown command says so" grep -q "unknown command 'bogus'" "$tmp/err"
"$TUG" server --data-dir "$tmp/d" --https-listen-port 99999 2>"$tmp/err"
rc=$?
check "a bad flag value exits 2 with the flag's name" bash -c "[ $rc -eq 2 ] && grep -q https-listen-port '$tmp/err'"
printf 'data-dir: %s/d\nbogus-key: 1\n' "$tmp" >"$tmp/c.yaml"
"$TUG" server -c "$tmp/c.yaml" 2>"$tmp/err"
rc=$?
check "an unknown config key names file and line" bash -c "[ $rc -eq 2 ] && grep -q 'c.yaml:2: unknown option' '$tmp/err'"

# A server starts on a fresh data dir, writes its store, and stops cleanly on SIGTERM.
printf 'data-dir: %s/d\nvolatile-dir: %s/v\nbind-address: 127.0.0.1\nhttps-listen-port: 0\nwrite-kubeconfig: %s/tug.yaml\n' \
	"$tmp" "$tmp" "$tmp" >"$tmp/c.yaml"
"$TUG" server -c "$tmp/c.yaml" --debug 2>"$tmp/log" &
pid=$!
for _ in $(seq 300); do grep -q "running, data in" "$tmp/log" && break; sleep 0.1; done
check "server starts from the config file" grep -q "running, data in $tmp/d" "$tmp/log"
check "store lives in <data-dir>/db" test -f "$tmp/d/db/data.mdb"
check "volatile kinds live in the volatile dir" test -f "$tmp/v/db/data.mdb"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
check "SIGTERM stops the server with status 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { echo "# exit status $rc; the server's log ends:"; tail -20 "$tmp/log" | sed 's/^/#   /'; }
check "shutdown is logged" grep -q "stopped" "$tmp/log"

# check-config exits 0 here (the test machines have every required feature).
"$TUG" check-config --no-color >"$tmp/cc" 2>&1
rc=$?
check "check-config passes on this machine" test "$rc" -eq 0
check "check-config reports cgroups, overlay, veth, bridge and nf_tables" \
	bash -c "grep -q '^- memory: ' '$tmp/cc' && grep -q '^- overlay: ' '$tmp/cc' && grep -q '^- veth: ' '$tmp/cc' && grep -q '^- bridge: ' '$tmp/cc' && grep -q '^- nf_tables: ' '$tmp/cc'"

# make install lays out the binary, tug-cni and the systemd unit.
if make -s -C "$TOP" install O="${TUG_BUILD:-$TOP/build}" DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/inst" 2>&1; then
	check "install puts tug in PREFIX/bin" test -x "$tmp/root/usr/bin/tug"
	check "install puts the tug-cni executable beside it" bash -c "test -x '$tmp/root/usr/bin/tug-cni' && ! test -L '$tmp/root/usr/bin/tug-cni'"
	check "install adds tug-cni to the CNI bin dir" test "$(readlink -f "$tmp/root/usr/lib/tug/cni/tug-cni")" = "$tmp/root/usr/bin/tug-cni"
	check "install adds the systemd unit with the prefix" grep -q '^ExecStart=/usr/bin/tug server' "$tmp/root/lib/systemd/system/tug.service"
	check "the installed binary runs" "$tmp/root/usr/bin/tug" version
else
	fail "make install: $(tail -3 "$tmp/inst")"
fi
finish
