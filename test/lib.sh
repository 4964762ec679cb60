# test/lib.sh: helpers for shell tests. Each check prints a TAP line that test/run-all counts.
# Source it, call ok/fail/check, and end with `finish`.

T_PASS=0
T_FAIL=0
T_NAME=${T_NAME:-$(basename "$0" .sh)}

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $T_NAME: $*"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $T_NAME: $*"; }
# check "description" command...: passes when the command succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}
skip() { echo "ok - $T_NAME: $* # SKIP"; }
finish() {
	echo "# $T_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# A `tug server` run in this network namespace leaves its masquerade table (net/routes) when it
# stops, as a node keeps its pods' network across a restart. Tests that run one call
# drop_routes_table on exit, which removes it unless it was there before the test.
ROUTES_BEFORE=$(nft list table inet tug-routes 2>/dev/null | head -1)
drop_routes_table() { [ -n "$ROUTES_BEFORE" ] || nft delete table inet tug-routes 2>/dev/null; }
