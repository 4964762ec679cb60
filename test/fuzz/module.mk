# Fuzz targets (libFuzzer, clang from Debian): test/fuzz/<name>.c -> $(O)/fuzz/<name>.
# They compile the code under test from source: libFuzzer needs clang's coverage
# instrumentation, and libtug.a is built by gcc. test/run-all runs each for a bounded time.
FUZZ_CC     ?= clang
FUZZ_SRCS   := core/http/parse.c core/http/arena.c core/http/server.c core/loop/loop.c \
               core/log/log.c $(wildcard core/util/*.c)
FUZZ_SRCS   += $(if $(CONFIG_TUG_TLS),core/http/tls.c)
FUZZ_LIBS   := $(if $(CONFIG_TUG_TLS),-lmbedtls -lmbedx509 -lmbedcrypto) -lpthread
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
               -I$(O)/include -I. -DTUG_VERSION='"$(VERSION)"' -DTUG_COMMIT='"$(GIT_COMMIT)"'
# A target with its own runner (test/fuzz/<name>.sh for <name>_fuzz.c) builds itself with the
# sources it needs; test/run-all runs those scripts.
FUZZ_OWN    := $(patsubst %.sh,%_fuzz.c,$(wildcard test/fuzz/*.sh))
FUZZERS     := $(patsubst test/fuzz/%.c,$(O)/fuzz/%,$(filter-out $(FUZZ_OWN),$(wildcard test/fuzz/*.c)))

.PHONY: fuzz
fuzz: $(FUZZERS)

$(O)/fuzz/%: test/fuzz/%.c $(FUZZ_SRCS) $(wildcard core/*/*.h) $(O)/include/config.h
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_SRCS) -o $@ $(FUZZ_LIBS)
