/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bpfutil.c: see bpfutil.h. */
#include <stdarg.h>

#include <bpf/libbpf.h>

#include "nfqlb/bpfutil.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

void bpfutil_quiet(void)
{
	libbpf_set_print(quiet);
}
