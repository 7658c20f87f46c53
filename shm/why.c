/* SPDX-License-Identifier: GPL-2.0-or-later */
/* why.c: one-line failure reasons (see why.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "shm/why.h"

int why_fail(int err, char *why, const char *fmt, ...)
{
	va_list ap;

	if (why) {
		va_start(ap, fmt);
		vsnprintf(why, WHY_MAX, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return -1;
}
