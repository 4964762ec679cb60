#!/usr/bin/env bash
# test/fuzz/obj.sh: builds the core/obj libFuzzer target with clang and runs it for a bounded time.
# Environment: FUZZ_SECONDS (default 20), TOP (the source tree). Prints TAP lines for test/run-all.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
T_NAME=fuzz-obj
. test/lib.sh
OUT=$TOP/build/fuzz
mkdir -p "$OUT/obj-corpus"
SECS=${FUZZ_SECONDS:-20}

if ! command -v clang >/dev/null; then
	skip "clang not installed"
	finish
	exit 0
fi
# obj and the util pieces it uses, compiled straight into the target with clang's sanitizers.
if ! clang -g -O1 -std=c11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -o "$OUT/obj_fuzz" test/fuzz/obj_fuzz.c core/obj/*.c \
	core/util/err.c core/util/mem.c core/util/buf.c core/util/str.c \
	-lcjson -lyaml -lm >"$OUT/obj_fuzz.build.log" 2>&1; then
	fail "build the obj fuzz target (see $OUT/obj_fuzz.build.log)"
	finish
	exit 1
fi
ok "build the obj fuzz target"
# The working corpus lives under build/; the seeds in the tree stay as they are.
if "$OUT/obj_fuzz" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 -max_len=4096 \
	-print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/obj-corpus" test/fuzz/obj-corpus >"$OUT/obj_fuzz.log" 2>&1; then
	ok "YAML, patch, apply, selector and quantity decoding survive ${SECS}s of fuzzing ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/obj_fuzz.log" | grep -o '[0-9]*$') runs)"
else
	tail -40 "$OUT/obj_fuzz.log"
	fail "fuzzing found a crash (see $OUT/obj_fuzz.log and $OUT/crash-*)"
fi
finish
