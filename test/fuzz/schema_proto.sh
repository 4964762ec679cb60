#!/usr/bin/env bash
# test/fuzz/schema_proto.sh: builds the protobuf-body libFuzzer target with clang and runs it for a
# bounded time. Environment: FUZZ_SECONDS (default 20), TOP (the source tree). Prints TAP lines
# for test/run-all. Seeds: bodies the real kubectl sent (test/fuzz/schema_proto-corpus).
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP"
T_NAME=fuzz-schema_proto
. test/lib.sh
OUT=$TOP/build/fuzz
mkdir -p "$OUT/schema_proto-corpus" "$OUT/include"
SECS=${FUZZ_SECONDS:-20}

if ! command -v clang >/dev/null; then
	skip "clang not installed"
	finish
	exit 0
fi
# The type table is compiled in from types.def as the build makes it (core/schema/module.mk).
if ! make --no-print-directory -s O="$OUT" "$OUT/include/schema-def.inc" >"$OUT/schema_proto_fuzz.build.log" 2>&1 ||
	! clang -g -O1 -std=c11 -D_GNU_SOURCE -I. -I"$OUT/include" -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o "$OUT/schema_proto_fuzz" test/fuzz/schema_proto_fuzz.c \
		core/schema/model.c core/schema/proto.c core/schema/check.c core/obj/*.c core/log/log.c \
		core/util/err.c core/util/mem.c core/util/buf.c core/util/str.c \
		-lcjson -lyaml -lm -lpthread >>"$OUT/schema_proto_fuzz.build.log" 2>&1; then
	fail "build the schema_proto fuzz target (see $OUT/schema_proto_fuzz.build.log)"
	finish
	exit 1
fi
ok "build the schema_proto fuzz target"
# The working corpus lives under build/; the seeds in the tree stay as they are.
if "$OUT/schema_proto_fuzz" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 -max_len=4096 \
	-print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/schema_proto-corpus" \
	test/fuzz/schema_proto-corpus >"$OUT/schema_proto_fuzz.log" 2>&1; then
	ok "protobuf bodies survive ${SECS}s of fuzzing ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/schema_proto_fuzz.log" | grep -o '[0-9]*$') runs)"
else
	tail -40 "$OUT/schema_proto_fuzz.log"
	fail "fuzzing found a crash (see $OUT/schema_proto_fuzz.log and $OUT/crash-*)"
fi
finish
