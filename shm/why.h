/* SPDX-License-Identifier: GPL-2.0-or-later */
/* why.h: the one-line reason every fallible function can fill in.
 *
 * Functions that take `char *why` write at most WHY_MAX bytes there on
 * failure (or nothing when why is NULL); the CLI prints it after the
 * command's name.  One size for every such buffer in nfqlb.
 */
#ifndef NFQLB_WHY_H
#define NFQLB_WHY_H

#define WHY_MAX 160

/**
 * why_fail - fill a reason and fail
 * @err: the errno value to set
 * @why: the buffer (WHY_MAX bytes), or NULL
 * @fmt: printf format of the reason
 *
 * Returns -1 with errno set to err, so callers can `return why_fail(...)`.
 */
int why_fail(int err, char *why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
