/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_pkt.c: libFuzzer target for the packet classifier (nfqlb/pkt.c).
 *
 * The input is one packet from its IP header on.  pkt_classify() is the
 * classifier's only entry point; it is run on the packet, on the part the
 * worker would capture (PKT_COPY_RANGE bytes), and on the packet cut at the
 * end its own IP header gives, and each result must keep the contract in
 * pkt.h: a valid kind, a zero key for a malformed packet, the addresses
 * where the header has them, the same answer from an exact-size copy (ASan
 * then catches any read past the end), bytes past the IP packet's end
 * ignored, and every hash mode reducing into the table.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "maglev/hash.h"
#include "nfqlb/frag.h"
#include "nfqlb/pkt.h"

#define REQUIRE(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_pkt: %s:%d: contract broken: %s\n",	\
			__FILE__, __LINE__, #c);			\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static bool key_zero(const struct pkt_key *k)
{
	unsigned int i;

	for (i = 0; i < HASH_FLOW_WORDS; i++)
		if (k->w[i])
			return false;
	return true;
}

/* Addresses straight from the header, unless the key is an ICMP error's,
 * which carries the quoted packet's addresses. */
static void check_addresses(const uint8_t *d, size_t len, enum pkt_kind kind,
			    const struct pkt_key *k)
{
	unsigned int i;

	if (kind == PKT_MALFORMED)
		return;
	if (d[0] >> 4 == 4) {
		REQUIRE(k->w[0] == 0 && k->w[1] == 0 && k->w[2] == 0xffff);
		REQUIRE(k->w[4] == 0 && k->w[5] == 0 && k->w[6] == 0xffff);
		if (kind != PKT_ICMP_ERROR) {
			REQUIRE(len >= 20);
			REQUIRE(k->w[3] == rd32(d + 12) && k->w[7] == rd32(d + 16));
		}
		return;
	}
	REQUIRE(d[0] >> 4 == 6 && len >= 40);
	if (kind != PKT_ICMP_ERROR)
		for (i = 0; i < 4; i++)
			REQUIRE(k->w[i] == rd32(d + 8 + 4 * i) &&
				k->w[4 + i] == rd32(d + 24 + 4 * i));
}

static void check_kind(const uint8_t *d, size_t len, enum pkt_kind kind,
		       const struct pkt_key *k)
{
	uint32_t p = k->w[9];

	REQUIRE((unsigned int)kind < PKT_KIND_MAX);
	REQUIRE(strcmp(pkt_kind_name(kind), "unknown") != 0);
	if (len == 0 || (d[0] >> 4 != 4 && d[0] >> 4 != 6))
		REQUIRE(kind == PKT_MALFORMED);
	switch (kind) {
	case PKT_MALFORMED:
		REQUIRE(key_zero(k));
		break;
	case PKT_L4:
		REQUIRE(p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP ||
			p == IPPROTO_UDPLITE);
		break;
	case PKT_ICMP_ECHO:
		REQUIRE(p == (d[0] >> 4 == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6));
		REQUIRE((k->w[8] & 0xffff) == 0);
		break;
	case PKT_FRAGMENT:
		REQUIRE(k->w[8] == 0);
		break;
	case PKT_ICMP_ERROR:
	case PKT_L3:
	case PKT_KIND_MAX:
		break;
	}
	REQUIRE(p < 256);
	check_addresses(d, len, kind, k);
}

/* Mode sctp: an SCTP key with ports ignores its addresses; any other key
 * hashes as 5tuple. */
static void check_hash_sctp(const struct pkt_key *k, uint32_t seed)
{
	struct pkt_key moved = *k;
	unsigned int i;

	for (i = 0; i < 8; i++)
		moved.w[i] ^= seed | 1;
	if (k->w[9] == HASH_PROTO_SCTP && k->w[8] != 0)
		REQUIRE(hash_flow(k->w, HASH_SCTP, seed) ==
			hash_flow(moved.w, HASH_SCTP, seed));
	else
		REQUIRE(hash_flow(k->w, HASH_SCTP, seed) ==
			hash_flow(k->w, HASH_5TUPLE, seed));
}

/* Every mode hashes into the table, and ignores the words it should. */
static void check_hash(const struct pkt_key *k, uint32_t seed)
{
	static const uint32_t ms[] = { 2, 997, 65537, 1000003 };
	struct pkt_key src = *k;
	unsigned int i, mode;

	for (i = 4; i < HASH_FLOW_WORDS; i++)
		src.w[i] ^= seed;
	for (mode = 0; mode < HASH_MODE_MAX; mode++)
		for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
			REQUIRE(hash_reduce(hash_flow(k->w, mode, seed), ms[i]) < ms[i]);
	REQUIRE(hash_flow(k->w, HASH_SRC, seed) == hash_flow(src.w, HASH_SRC, seed));
	check_hash_sctp(k, seed);
}

/* pkt_classify() is pkt_classify_meta() without a first fragment's ports;
 * the transport header it locates is within the capture. */
static void check_meta(const uint8_t *copy, size_t len, enum pkt_kind kind,
		       const struct pkt_key *k, struct pkt_key *mk, struct pkt_meta *m)
{
	REQUIRE(pkt_classify_meta(copy, len, mk, m) == kind);
	REQUIRE(m->frag <= PKT_FRAG_LATER);
	REQUIRE(m->frag == PKT_FRAG_NONE || kind == PKT_FRAGMENT);
	REQUIRE((size_t)m->l4_off + m->l4_len <= len);
	REQUIRE(m->frag != PKT_FRAG_LATER || m->l4_off == 0);
	if (m->frag == PKT_FRAG_FIRST)
		REQUIRE(memcmp(mk->w, k->w, 8 * sizeof(k->w[0])) == 0);
	else
		REQUIRE(memcmp(mk, k, sizeof(*k)) == 0);
}

/* Every fragment through one small tracker, time moving on per input: its
 * counts add up and it holds no more than its size. */
static void check_tracker(const struct pkt_key *k, const struct pkt_meta *m)
{
	static struct frag *t;
	static uint64_t now, calls;
	struct frag_decision d = { 1, 2, 3, 4 };
	struct frag_stats st;
	struct frag_out o;

	if (!t)
		t = frag_new(16, 100, 1);
	REQUIRE(t != NULL);
	now += 7;
	if (m->frag != PKT_FRAG_NONE) {
		frag_decide(t, k, m, (uint32_t)calls, &d, now);
		calls++;
	}
	frag_expire(t, now);
	while (frag_pop(t, &o))
		REQUIRE(o.timed_out || o.d.mark == 2);
	frag_stats(t, &st);
	REQUIRE(st.tracked + st.held + st.dropped == calls);
	REQUIRE(frag_held(t) <= 16 && st.released + st.timed_out + frag_held(t) == st.held);
}

/* Classify len bytes from an exact-size copy, twice, and check the result. */
static enum pkt_kind classify(const uint8_t *data, size_t len, struct pkt_key *k)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct pkt_meta meta;
	struct pkt_key again;
	enum pkt_kind kind;

	REQUIRE(copy != NULL);
	memcpy(copy, data, len);
	kind = pkt_classify(copy, len, k);
	REQUIRE(pkt_classify(copy, len, &again) == kind);
	REQUIRE(memcmp(&again, k, sizeof(again)) == 0);
	check_meta(copy, len, kind, k, &again, &meta);
	free(copy);
	check_tracker(&again, &meta);
	check_kind(data, len, kind, k);
	check_hash(k, len ? data[len - 1] * 0x01010101u : 0);
	return kind;
}

/* The end the packet's own IP header gives, or 0 if it gives none. */
static size_t ip_end(const uint8_t *d, size_t len)
{
	size_t end = 0;

	if (len >= 20 && d[0] >> 4 == 4)
		end = (size_t)d[2] << 8 | d[3];
	else if (len >= 40 && d[0] >> 4 == 6 && (d[4] | d[5]))
		end = 40 + ((size_t)d[4] << 8 | d[5]);
	return end <= len ? end : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_key whole, cut;
	enum pkt_kind kind;
	size_t end;

	kind = classify(data, size, &whole);
	if (size > PKT_COPY_RANGE)
		classify(data, PKT_COPY_RANGE, &cut);
	/* Link-layer padding after the IP packet changes nothing. */
	end = ip_end(data, size);
	if (end && end < size) {
		REQUIRE(classify(data, end, &cut) == kind);
		REQUIRE(memcmp(&cut, &whole, sizeof(cut)) == 0);
	}
	return 0;
}
