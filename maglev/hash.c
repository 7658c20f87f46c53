/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hash.c: target hashes and hash-mode names (see hash.h, docs/maglev.md). */
#include <errno.h>
#include <string.h>

#include "maglev/hash.h"

static const char *const mode_names[HASH_MODE_MAX] = {
	[HASH_5TUPLE] = "5tuple",
	[HASH_ADDR] = "addr",
	[HASH_SRC] = "src",
	[HASH_SCTP] = "sctp",
};

void hash_target(uint32_t id, uint32_t seed, uint64_t *h1, uint64_t *h2)
{
	uint64_t key = (uint64_t)seed << 32 | id;

	/* Two different bijections of the same key: independent enough that
	 * offset and skip do not correlate. */
	*h1 = hash_mix64(key);
	*h2 = hash_mix64(key ^ 0x9e3779b97f4a7c15ULL);
}

const char *hash_mode_name(enum hash_mode mode)
{
	if ((unsigned int)mode >= HASH_MODE_MAX)
		return NULL;
	return mode_names[mode];
}

int hash_mode_parse(const char *name)
{
	int i;

	for (i = 0; i < HASH_MODE_MAX; i++)
		if (strcmp(name, mode_names[i]) == 0)
			return i;
	errno = EINVAL;
	return -1;
}
