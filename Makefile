# tug: top-level build. Kernel-style: Kconfig picks features, module.mk files add objects.
#
#   make [<board>_defconfig|defconfig|menuconfig|olddefconfig]
#   make [CROSS_COMPILE=aarch64-linux-gnu-] [O=build-dir] [SANITIZE=1]
#   make check | bench | run | install | size | clean

PYTHON        ?= /usr/bin/python3
KCONFIGLIB    ?= /usr/lib/python3/dist-packages
CROSS_COMPILE ?=
CC            := $(CROSS_COMPILE)gcc
HOSTCC        ?= gcc
AR            := $(CROSS_COMPILE)gcc-ar
STRIP         := $(CROSS_COMPILE)strip
PREFIX        ?= /usr/local
DESTDIR       ?=
SANITIZE      ?=
V             ?=

TARGET_TRIPLE := $(shell $(CC) -dumpmachine 2>/dev/null)
ifeq ($(CROSS_COMPILE),)
  DEFAULT_O := build
else
  DEFAULT_O := build/$(TARGET_TRIPLE)
endif
O ?= $(DEFAULT_O)

# Board picked when no .config exists yet, from the compiler's target.
ifneq ($(findstring aarch64,$(TARGET_TRIPLE)),)
  DEFAULT_BOARD := rpi4
else ifneq ($(findstring arm,$(TARGET_TRIPLE)),)
  DEFAULT_BOARD := rpi3
else
  DEFAULT_BOARD := x86_64
endif

Q := $(if $(V),,@)
CONFIG := $(O)/.config
KCONF_ENV := KCONFIG_CONFIG=$(CONFIG) PYTHONPATH=$(KCONFIGLIB) srctree=$(CURDIR)

VERSION := $(shell cat VERSION 2>/dev/null)
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

-include $(CONFIG)

WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wno-unused-parameter -Wvla -Wformat=2 -Wno-format-nonliteral
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -pipe $(WARN) -I$(O)/include -I$(O)/gen -I. \
               -DTUG_VERSION='"$(VERSION)"' -DTUG_COMMIT='"$(GIT_COMMIT)"'
# SANITIZE=1: ASan+UBSan (make check). DEBUG=1: -O0. LTO=0: release flags without LTO
# (quicker, used for the cross-built unit tests). Default: -Os, LTO, stripped.
LTO ?= 1
ifeq ($(SANITIZE),1)
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDOPT := -fsanitize=address,undefined
else ifeq ($(DEBUG),1)
  OPT := -O0 -g
  LDOPT :=
else ifeq ($(LTO),0)
  OPT := -O2 -g
  LDOPT :=
else
  OPT := -Os -flto=auto -ffunction-sections -fdata-sections -g
  LDOPT := -flto=auto -Wl,--gc-sections -Os
endif
CFLAGS  ?=
LDFLAGS ?=
ALL_CFLAGS  := $(CFLAGS_BASE) $(OPT) $(CFLAGS)
ALL_LDFLAGS := $(LDOPT) $(LDFLAGS)

# Objects: each module.mk appends to obj-y (library code), main-y (the entry),
# libs-y (link flags), cni-main-y and cni-libs-y (the small tug-cni executable), test-y (unit test sources, one binary each) and proto-y (.proto
# files whose protobuf-c code, generated under $(O)/gen, goes into the library).
# A tool or unit test with a proto of its own names it in tool-proto-<tool> or
# test-proto-<test>.
obj-y  :=
main-y :=
libs-y :=
cni-main-y :=
cni-libs-y :=
test-y :=
proto-y :=
include $(sort $(wildcard */module.mk */*/module.mk))
LIBS := $(sort $(libs-y)) -lpthread

PROTOC_C  ?= protoc-c
pb-obj     = $(patsubst %.proto,$(O)/gen/%.pb-c.o,$(1))
ALL_PROTO := $(sort $(proto-y) $(foreach v,$(filter tool-proto-% test-proto-%,$(.VARIABLES)),$($(v))))
PROTO_H   := $(patsubst %.proto,$(O)/gen/%.pb-c.h,$(ALL_PROTO))

OBJS      := $(addprefix $(O)/,$(obj-y)) $(call pb-obj,$(proto-y))
MAIN_OBJS := $(addprefix $(O)/,$(main-y))
LIBTUG    := $(O)/libtug.a
TUG       := $(O)/tug
# containerd runs the CNI plugin once per pod per verb, so its start-up is the plugin's
# cost: tug-cni is its own executable, linked only against the libraries it uses.
ifneq ($(cni-main-y),)
TUG_CNI   := $(O)/tug-cni
CNI_MAIN_OBJS := $(addprefix $(O)/,$(cni-main-y))
endif
TESTS     := $(patsubst test/unit/%.c,$(O)/test/%,$(test-y))

.PHONY: all tug images tests tools clean distclean defconfig %_defconfig allnoconfig allyesconfig menuconfig olddefconfig savedefconfig \
        check bench run install size fmt deps FORCE
.DEFAULT_GOAL := all

all: tug images
tug: $(TUG) $(TUG_CNI)

# --- configuration ----------------------------------------------------------
BOARDS := $(notdir $(wildcard boards/*))

$(CONFIG):
	$(Q)mkdir -p $(O)
	@echo "  CONFIG  no $(CONFIG); using boards/$(DEFAULT_BOARD)/defconfig"
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/defconfig.py --kconfig Kconfig boards/$(DEFAULT_BOARD)/defconfig >/dev/null

defconfig: $(DEFAULT_BOARD)_defconfig

%_defconfig:
	$(Q)test -f boards/$*/defconfig || { echo "no board '$*' (boards: $(BOARDS))" >&2; exit 1; }
	$(Q)mkdir -p $(O)/include
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/defconfig.py --kconfig Kconfig boards/$*/defconfig
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/genconfig.py --header-path $(O)/include/config.h Kconfig

allnoconfig allyesconfig:
	$(Q)mkdir -p $(O)/include
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/$@.py Kconfig
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/genconfig.py --header-path $(O)/include/config.h Kconfig

menuconfig: | $(CONFIG)
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/menuconfig.py Kconfig

olddefconfig: | $(CONFIG)
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/olddefconfig.py Kconfig

savedefconfig: | $(CONFIG)
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/savedefconfig.py --kconfig Kconfig --out $(O)/defconfig
	@echo "  wrote $(O)/defconfig"

# The header follows .config; every object depends on it.
$(O)/include/config.h: $(CONFIG) Kconfig $(wildcard */Kconfig */*/Kconfig)
	$(Q)mkdir -p $(O)/include
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/olddefconfig.py Kconfig >/dev/null
	$(Q)$(KCONF_ENV) $(PYTHON) $(KCONFIGLIB)/genconfig.py --header-path $@.tmp Kconfig
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# --- compile ----------------------------------------------------------------
$(O)/%.o: %.c $(O)/include/config.h $(O)/flags
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(CFLAGS_$(subst /,_,$(basename $<))) -MMD -MP -c $< -o $@

# Generated code includes its header as "<dir>/<name>.pb-c.h", found through -I$(O)/gen.
# Objects wait for every generated header (order only; -MMD tracks the real uses).
$(O)/gen/%.pb-c.c $(O)/gen/%.pb-c.h: %.proto
	@mkdir -p $(O)/gen
	@echo "  PROTOC  $<"
	$(Q)$(PROTOC_C) --proto_path=. --c_out=$(O)/gen $<

$(O)/gen/%.pb-c.o: $(O)/gen/%.pb-c.c $(O)/include/config.h $(O)/flags
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(addprefix $(O)/,$(obj-y) $(main-y) $(cni-main-y)): | $(PROTO_H)
.PRECIOUS: $(O)/gen/%.pb-c.c $(O)/gen/%.pb-c.h $(O)/gen/%.pb-c.o

# Rebuild everything when the flags change (sanitizers, cross compiler, ...).
$(O)/flags: FORCE
	@mkdir -p $(O)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)' > $@

$(LIBTUG): $(OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(TUG): $(MAIN_OBJS) $(LIBTUG)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJS) $(LIBTUG) $(LIBS)
ifeq ($(SANITIZE)$(DEBUG),)
	$(Q)cp $@ $@.debug && $(STRIP) --strip-all $@
endif

$(TUG_CNI): $(CNI_MAIN_OBJS) $(LIBTUG)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CNI_MAIN_OBJS) $(LIBTUG) $(cni-libs-y)
ifeq ($(SANITIZE)$(DEBUG),)
	$(Q)cp $@ $@.debug && $(STRIP) --strip-all $@
endif

# Tools used by tests and benchmarks (not installed): test/tools/*.c, one binary each.
TOOLS := $(patsubst test/tools/%.c,$(O)/tools/%,$(wildcard test/tools/*.c))
tools: $(TOOLS)
.SECONDEXPANSION:
$(O)/tools/%: test/tools/%.c $(LIBTUG) $(O)/include/config.h $$(call pb-obj,$$(tool-proto-$$*)) | $(PROTO_H)
	@mkdir -p $(dir $@)
	@echo "  TOOL    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -MMD -MP $< -o $@ $(ALL_LDFLAGS) \
		$(call pb-obj,$(tool-proto-$*)) $(LIBTUG) $(LIBS) $(tool-libs-$*)

# --- images -----------------------------------------------------------------
# The pause image, for the board: a static pause program (built with the target's
# compiler) packed into an OCI image-layout tarball by mkoci, a build-machine tool.
HOST_MKOCI := $(O)/host/mkoci
PAUSE_IMAGE_NAME := $(shell sed -n 's/^#define CRI_PAUSE_IMAGE "\(.*\)"/\1/p' cri/cri.h)
ifeq ($(CONFIG_TUG_KUBELET),y)
IMAGES := $(O)/images/pause.tar
endif
images: $(IMAGES)

$(HOST_MKOCI): scripts/images/mkoci.c cri/oci/oci.c cri/oci/oci.h $(wildcard core/util/*.c) core/util/util.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) -std=c11 -D_GNU_SOURCE -O2 $(WARN) -I. -o $@ scripts/images/mkoci.c cri/oci/oci.c \
		$(wildcard core/util/*.c) -lmbedcrypto -lcjson

$(O)/images/pause: scripts/images/pause.c $(O)/flags
	@mkdir -p $(dir $@)
	@echo "  CC      $@ (static)"
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -Os $(WARN) -static -s -o $@ $<

$(O)/images/pause.tar: $(O)/images/pause $(HOST_MKOCI)
	@echo "  MKOCI   $@"
	$(Q)$(HOST_MKOCI) -o $@ -n $(PAUSE_IMAGE_NAME) -t $(TARGET_TRIPLE) -e /pause $<=pause

# --- unit tests -------------------------------------------------------------
tests: $(TESTS) $(TUG) $(TUG_CNI) $(TOOLS) $(IMAGES) $(HOST_MKOCI)

$(O)/test/%: test/unit/%.c $(LIBTUG) $(O)/include/config.h $$(call pb-obj,$$(test-proto-$$*)) | $(PROTO_H)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -MMD -MP $< -o $@ $(ALL_LDFLAGS) \
		$(call pb-obj,$(test-proto-$*)) $(LIBTUG) $(LIBS) -lcmocka

-include $(OBJS:.o=.d) $(MAIN_OBJS:.o=.d) $(CNI_MAIN_OBJS:.o=.d) $(TESTS:=.d) $(TOOLS:=.d) $(patsubst %.o,%.d,$(call pb-obj,$(ALL_PROTO)))

# --- the two commands and friends -------------------------------------------
deps:
	$(Q)scripts/deps

check:
	$(Q)scripts/deps
	$(Q)test/run-all

bench:
	$(Q)scripts/deps --bench
	$(Q)test/bench/run

run:
	$(Q)scripts/deps
	$(Q)$(MAKE) --no-print-directory tug
	$(Q)mkdir -p run
	$(TUG) server --data-dir $(CURDIR)/run/data --write-kubeconfig $(CURDIR)/run/tug.yaml $(RUN_ARGS)

install: $(TUG) $(TUG_CNI) $(IMAGES)
	install -D -m 0755 $(TUG) $(DESTDIR)$(PREFIX)/bin/tug
	$(if $(IMAGES),install -D -m 0644 $(O)/images/pause.tar $(DESTDIR)$(PREFIX)/lib/tug/images/pause.tar)
	$(if $(TUG_CNI),install -D -m 0755 $(TUG_CNI) $(DESTDIR)$(PREFIX)/bin/tug-cni)
	$(if $(TUG_CNI),install -d $(DESTDIR)$(PREFIX)/lib/tug/cni)
	$(if $(TUG_CNI),ln -sf ../../../bin/tug-cni $(DESTDIR)$(PREFIX)/lib/tug/cni/tug-cni)
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/tug.service > $(O)/tug.service
	install -D -m 0644 $(O)/tug.service $(DESTDIR)/lib/systemd/system/tug.service

size:
	$(Q)scripts/size

fmt:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(O)

distclean:
	rm -rf build run

FORCE:
