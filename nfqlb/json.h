/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.h: what the --json outputs share. */
#ifndef NFQLB_JSON_H
#define NFQLB_JSON_H

#include <stdio.h>

/**
 * json_fstr - print a string as a JSON string, quoted and escaped
 * @f: the stream
 * @s: the string (any bytes; controls become \u00XX)
 */
void json_fstr(FILE *f, const char *s);

/**
 * json_str - json_fstr() on stdout
 * @s: the string
 */
void json_str(const char *s);

#endif
