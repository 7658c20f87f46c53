# SPDX-License-Identifier: GPL-2.0-or-later
# nfqlb: one non-recursive Makefile.  `make help` lists the targets.

BUILD   ?= build
CC      ?= cc
PKGS    := libnetfilter_queue libmnl libnl-route-3.0 libnl-3.0 libbpf libmicrohttpd
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla
# CI (CI=true in the environment) and `make WERROR=1` turn warnings into errors.
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN    += -Werror
endif
OPT     ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) -I. -I$(BUILD)/gen -MMD -MP $(SAN)
CFLAGS  += $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

LIB_SRC  := maglev/maglev.c maglev/hash.c $(wildcard shm/*.c) $(wildcard flows/*.c) nfqlb/pkt.c
CLI_SRC  := $(filter-out $(LIB_SRC),$(wildcard nfqlb/*.c))
UNIT_SRC := $(wildcard test/unit/*.c)
TOOL_SRC := $(wildcard test/tools/*.c)
BPF_SRC  := $(wildcard bpf/*.bpf.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
TOOLS    := $(TOOL_SRC:test/tools/%.c=$(BUILD)/tools/%)
BPF_OBJ  := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
BPF_SKEL := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/gen/%.skel.h)
# The CLI code minus main() is linked into the unit tests so they can drive it.
CLI_LIB_OBJ := $(filter-out $(BUILD)/obj/nfqlb/main.o,$(CLI_OBJ))

NFQLB  := $(BUILD)/nfqlb
UNIT   := $(BUILD)/check-all

.PHONY: all help check check-build unit unit-san func func-san func-all unit-san-func-all \
	demo clean tools

all: $(NFQLB) tools ## build build/nfqlb and the test tools

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# BPF programs: bpf/NAME.bpf.c is compiled by clang, linked by bpftool
# (which drops the DWARF but keeps the BTF), and embedded in nfqlb as the
# libbpf skeleton $(BUILD)/gen/NAME.skel.h, which the loader includes.  The
# same for every build, sanitizers or not: the kernel runs these.
BPF_CLANG  ?= clang
BPFTOOL    ?= bpftool
BPF_CFLAGS := -O2 -g -target bpf -Wall -Wextra -I. \
              -I/usr/include/$(shell $(CC) -print-multiarch) -MMD -MP

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
	@mkdir -p $(dir $@)
	$(BPF_CLANG) $(BPF_CFLAGS) -c -o $@ $<

$(BUILD)/gen/%.skel.h: $(BUILD)/bpf/%.bpf.o
	@mkdir -p $(dir $@)
	$(BPFTOOL) gen object $(BUILD)/bpf/$*.o $<
	$(BPFTOOL) gen skeleton $(BUILD)/bpf/$*.o name $*_bpf >$@.tmp
	mv $@.tmp $@

# Keep the objects: make would remove them as intermediate files.
.SECONDARY: $(BPF_OBJ)

# Before their first build nothing records which objects include a
# skeleton: build the skeletons first.
$(LIB_OBJ) $(CLI_OBJ) $(UNIT_OBJ): | $(BPF_SKEL)

$(BUILD)/libnfqlb.a: $(LIB_OBJ) $(CLI_LIB_OBJ)
	$(AR) rcs $@ $^

$(NFQLB): $(BUILD)/obj/nfqlb/main.o $(BUILD)/libnfqlb.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(UNIT_OBJ) $(BUILD)/libnfqlb.a
	$(CC) $(CFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tools/%: test/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

tools: $(TOOLS)

unit: $(UNIT) $(NFQLB) ## run the Check unit tests
	NFQLB=$(abspath $(NFQLB)) $(UNIT)

# The sanitizer build: ASan (with LSan) and UBSan, every error fatal.
SAN_MAKE := $(MAKE) BUILD=build/san OPT="-O1 -g" \
	SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

unit-san: ## run the unit tests built with ASan, UBSan and LSan
	$(SAN_MAKE) unit

func: all ## run the function tests (network namespaces; skipped when not root)
	NFQLB=$(abspath $(NFQLB)) TOOLS=$(abspath $(BUILD)/tools) NFQLB_SAN=$(if $(SAN),1) \
		FUNC_TIMES=$(abspath $(BUILD))/func-times test/func/run.sh

func-san: ## run the function tests with nfqlb and the tools built with ASan, UBSan and LSan
	ASAN_OPTIONS=abort_on_error=1 $(SAN_MAKE) func

# func and func-san in one pool of tests (run.sh runs each test against
# both builds), so that neither waits for the other's slowest tests.
func-all: all ## run the function tests against the plain and the sanitizer build at once
	$(SAN_MAKE) all
	ASAN_OPTIONS=abort_on_error=1 NFQLB=$(abspath $(NFQLB)) \
		TOOLS=$(abspath $(BUILD)/tools) \
		FUNC_SAN_NFQLB=$(abspath build/san/nfqlb) FUNC_SAN_TOOLS=$(abspath build/san/tools) \
		FUNC_TIMES=$(abspath $(BUILD))/func-times-all test/func/run.sh

# Everything check runs is built first, two jobs at a time.
check-build: ## build what make check runs: both builds, the unit tests, the fuzz targets (and the benchmarks' tools, so they keep building)
	$(MAKE) -j2 all $(UNIT) fuzz-build bench-tools
	$(SAN_MAKE) -j2 all build/san/check-all

# unit-san beside the function tests: it spends about 30 s on one CPU (LSan
# checks each forked test at its end) while the function tests mostly wait.
# Its output is held in a file and printed after theirs; both must pass.
unit-san-func-all:
	@$(MAKE) --no-print-directory unit-san >$(BUILD)/unit-san.log 2>&1 & u=$$!; \
	$(MAKE) func-all; f=$$?; \
	wait $$u; s=$$?; \
	echo "make unit-san, run beside the function tests (exit $$s):"; \
	cat $(BUILD)/unit-san.log; \
	[ $$f -eq 0 ] && [ $$s -eq 0 ]

# Each step is its own recipe line: make stops at the first that fails.
check: ## run every test: unit and function tests, plain and under sanitizers; fuzz smoke run
	$(MAKE) check-build
	$(MAKE) unit
	$(MAKE) unit-san-func-all
	$(MAKE) fuzz-smoke
	$(MAKE) check-deploy

demo: all ## run the demo: DSR lab, spread over targets, scale-in/out loss table (root, ~1 min)
	NFQLB=$(abspath $(NFQLB)) TOOLS=$(abspath $(BUILD)/tools) test/demo.sh

clean: ## remove build/
	rm -rf build

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# Each test area under test/ may add its own targets in a fragment
# (test/fuzz/fuzz.mk, test/bench/bench.mk, ...); they are part of this one make.
include $(wildcard test/*/*.mk)
include deploy/deploy.mk

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(BPF_OBJ:.o=.d)
