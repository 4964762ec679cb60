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

# Lazily unmounts whatever is still mounted under a directory (containerd leaves overlay
# mounts and netns only when a run was cut short), deepest first.
umount_under() {
	grep -o " $1[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
}
# Tests on real containerd: skips the whole test (and exits) unless containerd, runc and a
# static busybox (the test image's only program) are installed; sets BUSYBOX.
need_containerd() {
	if ! command -v containerd >/dev/null || ! command -v runc >/dev/null; then
		skip "containerd and runc are not installed"
		finish
		exit 0
	fi
	BUSYBOX=$(command -v busybox)
	if [ -z "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
		skip "no static busybox (install busybox-static)"
		finish
		exit 0
	fi
}
