/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c: the worker's log lines (see log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "nfqlb/log.h"

void lb_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "nfqlb: lb: %s\n", line);
}
