/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.c: JSON output helpers (see json.h). */
#include <stdio.h>

#include "nfqlb/json.h"

void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}
