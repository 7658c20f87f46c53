/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hash.h: the seeded hashes nfqlb uses for target permutations and flows.
 *
 * Every function here is a pure function of its arguments.  They are defined
 * on integer values, never on memory bytes, so they give the same results on
 * every host, C library and byte order.  docs/maglev.md ("The Maglev algorithm")
 * specifies them completely.
 */
#ifndef NFQLB_HASH_H
#define NFQLB_HASH_H

#ifdef __bpf__
/* The fast path's BPF program (bpf/fastpath.bpf.c) compiles this header
 * too, so that both data paths hash with the same code. */
#include <linux/types.h>
typedef __u32 uint32_t;
typedef __u64 uint64_t;
#else
#include <stdint.h>
#endif

/* Number of 32-bit words in a flow key (see nfqlb/pkt.h for the layout). */
#define HASH_FLOW_WORDS 10

/* Which fields of a flow key take part in the flow hash. */
enum hash_mode {
	HASH_5TUPLE = 0,	/* addresses, ports and protocol */
	HASH_ADDR = 1,		/* source and destination addresses */
	HASH_SRC = 2,		/* source address only */
	HASH_SCTP = 3,		/* SCTP with ports: ports and protocol only (every
				 * path of a multihomed association); the rest
				 * as HASH_5TUPLE */
	HASH_MODE_MAX
};

/* The modes' CLI names, for messages and help, in enum order. */
#define HASH_MODE_LIST "5tuple, addr, src or sctp"

/* The IP protocol number of SCTP (w[9] of its keys). */
#define HASH_PROTO_SCTP 132

/**
 * hash_mix64 - the 64-bit finaliser of MurmurHash3 (a bijection)
 * @x: value to mix
 *
 * Returns the mixed value.
 */
static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/**
 * hash_flow - seeded hash of a flow key
 * @w: the HASH_FLOW_WORDS words of the key
 * @mode: which words take part; the others count as 0.  HASH_SCTP: a key
 *        with w[9] HASH_PROTO_SCTP and ports (w[8] not 0) keeps w[8..9]
 *        only; any other key keeps all ten words, as HASH_5TUPLE
 * @seed: the table's seed
 *
 * Returns the 64-bit flow hash.
 */
static inline uint64_t hash_flow(const uint32_t *w, enum hash_mode mode,
				 uint32_t seed)
{
	/* Words outside first..last-1 count as zero: addr keeps w[0..7], src
	 * w[0..3], sctp w[8..9] of an SCTP key with ports.  An SCTP key without
	 * ports (a later fragment) keeps its addresses, so that such keys do
	 * not all meet on one target. */
	unsigned int last = mode == HASH_SRC ? 4 : mode == HASH_ADDR ? 8 : 10;
	unsigned int first = mode == HASH_SCTP && w[9] == HASH_PROTO_SCTP &&
			     w[8] != 0 ? 8 : 0;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ seed;
	unsigned int i;

	for (i = 0; i < HASH_FLOW_WORDS; i += 2) {
		uint64_t hi = i >= first && i < last ? w[i] : 0;
		uint64_t lo = i + 1 >= first && i + 1 < last ? w[i + 1] : 0;

		h = hash_mix64(h ^ (hi << 32 | lo));
	}
	return h;
}

/**
 * hash_reduce - map a 64-bit hash onto 0..m-1
 * @h: hash value
 * @m: range size, at least 1
 *
 * Uses the high 32 bits (multiply-shift), which avoids a division.
 * Returns ((h >> 32) * m) >> 32.
 */
static inline uint32_t hash_reduce(uint64_t h, uint32_t m)
{
	return (uint32_t)(((h >> 32) * (uint64_t)m) >> 32);
}

/**
 * hash_target - the two hashes that place a target in the Maglev table
 * @id: the target id
 * @seed: the table's seed
 * @h1: set to the hash that gives the offset
 * @h2: set to the hash that gives the skip
 */
void hash_target(uint32_t id, uint32_t seed, uint64_t *h1, uint64_t *h2);

/**
 * hash_mode_name - the CLI name of a hash mode ("5tuple", "addr", "src",
 * "sctp")
 * @mode: the mode
 *
 * Returns the name, or NULL for an unknown mode.
 */
const char *hash_mode_name(enum hash_mode mode);

/**
 * hash_mode_parse - the hash mode with a CLI name
 * @name: "5tuple", "addr", "src" or "sctp"
 *
 * Returns the mode, or -1 with errno EINVAL for an unknown name.
 */
int hash_mode_parse(const char *name);

#endif
