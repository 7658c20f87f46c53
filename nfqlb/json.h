/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.h: what the --json outputs share. */
#ifndef NFQLB_JSON_H
#define NFQLB_JSON_H

/**
 * json_str - print a string as a JSON string, quoted and escaped, on stdout
 * @s: the string (any bytes; controls become \u00XX)
 */
void json_str(const char *s);

#endif
