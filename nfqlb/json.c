/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.c: JSON output helpers (see json.h). */
#include "nfqlb/json.h"

void json_fstr(FILE *f, const char *s)
{
	const unsigned char *c;

	fputc('"', f);
	for (c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

void json_str(const char *s)
{
	json_fstr(stdout, s);
}
