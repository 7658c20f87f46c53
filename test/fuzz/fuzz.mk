# SPDX-License-Identifier: GPL-2.0-or-later
# test/fuzz/fuzz.mk: libFuzzer targets, built with clang, ASan and UBSan.
# Included by the Makefile.  `make fuzz` runs each target for FUZZ_TIME
# seconds of CPU, `make fuzz-smoke` for FUZZ_SMOKE_TIME, the targets side by
# side (see run-fuzz.sh); both start from the seed corpus in
# test/fuzz/corpus/<target>/ and fail on any crash, leak, timeout or broken
# contract.

FUZZ_CC         ?= clang
FUZZ_TIME       ?= 60
FUZZ_SMOKE_TIME ?= 20
FUZZ_DIR        := $(BUILD)/fuzz
FUZZ_NAMES      := pkt shm cli
FUZZ_BINS       := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_SAN        := -fsanitize=address,undefined -fno-sanitize-recover=all \
                   -fno-omit-frame-pointer
FUZZ_CFLAGS     := -std=gnu11 -D_GNU_SOURCE -O1 -g $(WARN) -I. -I$(BUILD)/gen -MMD -MP \
                   $(FUZZ_SAN) $(shell pkg-config --cflags $(PKGS))
FUZZ_OBJ        := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,\
                   $(filter-out nfqlb/main.c,$(LIB_SRC) $(CLI_SRC)))

.PHONY: fuzz fuzz-smoke fuzz-build

# The BPF loader includes its skeleton (see the Makefile).
$(FUZZ_OBJ): | $(BPF_SKEL)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libnfqlb-fuzz.a: $(FUZZ_OBJ)
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_DIR)/libnfqlb-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BINS) ## build the libFuzzer targets (clang)

fuzz: fuzz-build ## run the fuzz targets side by side, FUZZ_TIME s of CPU each (default 60)
	test/fuzz/run-fuzz.sh $(FUZZ_TIME) $(FUZZ_DIR) $(FUZZ_NAMES)

fuzz-smoke: fuzz-build ## the same for FUZZ_SMOKE_TIME s of CPU each (default 20)
	test/fuzz/run-fuzz.sh $(FUZZ_SMOKE_TIME) $(FUZZ_DIR) $(FUZZ_NAMES)

-include $(FUZZ_OBJ:.o=.d)
