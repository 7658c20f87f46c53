# SPDX-License-Identifier: GPL-2.0-or-later
# bench.mk: `make bench`, the benchmarks under test/bench/ (included by the
# Makefile).  The tools build with everything else's flags; the run needs
# root, as the function tests do.

BENCH_BIN   := $(BUILD)/bench
BENCH_TOOLS := $(BENCH_BIN)/nfq-null $(BENCH_BIN)/micro $(BENCH_BIN)/rr

.PHONY: bench bench-tools

$(BENCH_BIN)/nfq-null: test/bench/nfq-null.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

$(BENCH_BIN)/micro: test/bench/micro.c $(BUILD)/libnfqlb.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BENCH_BIN)/rr: test/bench/rr.c test/tools/tools.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lpthread

bench-tools: $(BENCH_TOOLS)

bench: all bench-tools ## run the benchmarks (root, < 20 min) and rewrite BENCHMARKS.md and its plots
	NFQLB=$(abspath $(NFQLB)) TOOLS=$(abspath $(BUILD)/tools) \
		BENCH_BIN=$(abspath $(BENCH_BIN)) test/bench/bench.sh
