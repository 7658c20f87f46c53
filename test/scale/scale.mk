# SPDX-License-Identifier: GPL-2.0-or-later
# scale.mk: `make scale`, the scale-in/scale-out measurement (root).
# SCALE_OUT picks the results directory (default build/scale);
# SCALE_ARGS passes options to test/scale/scale.sh.

SCALE_OUT ?= $(BUILD)/scale

.PHONY: scale

scale: all ## measure connection loss on scale-in/out: nfqlb vs modulo hash (root, ~2 min)
	NFQLB=$(abspath $(NFQLB)) TOOLS=$(abspath $(BUILD)/tools) \
		test/scale/scale.sh -o $(abspath $(SCALE_OUT)) $(SCALE_ARGS)
