# SPDX-License-Identifier: GPL-2.0-or-later
# tools.mk: each tool is built from its one .c; the compiler also writes
# which headers it read (test/tools/tools.h) next to it.  With these, a
# changed header rebuilds the tools that include it.

-include $(TOOLS:=.d)
