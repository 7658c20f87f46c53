/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c: the long-running commands' log lines (see log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "nfqlb/log.h"

void log_vline(const char *cmd, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "nfqlb: %s: %s\n", cmd, line);
}

void lb_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("lb", fmt, ap);
	va_end(ap);
}
