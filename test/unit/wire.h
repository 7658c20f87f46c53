/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire.h: writing big-endian (network order) fields into packets that unit
 * tests build byte by byte. */
#ifndef NFQLB_TEST_WIRE_H
#define NFQLB_TEST_WIRE_H

#include <stdint.h>

/* put16 - write v's low 16 bits at p, most significant byte first */
static inline void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* put32 - write v at p, most significant byte first */
static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

#endif
