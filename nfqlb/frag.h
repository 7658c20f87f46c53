/* SPDX-License-Identifier: GPL-2.0-or-later */
/* frag.h: the fragment tracker: the decision of a datagram's first
 * fragment, kept for its later fragments, and the later fragments that
 * came first, held until it does.
 *
 * Pure: no I/O, no clock (time is a parameter), no allocation after
 * frag_new().  A datagram is named by (source, destination, protocol, IP
 * id) for IPv4 and (source, destination, fragment id) for IPv6 (RFC 791,
 * RFC 8200 4.5: IPv6 reassembly ignores the protocol, and a first
 * fragment's chain may name another header after the fragment header than
 * the later ones do).  Used by one thread: fragments of one datagram must
 * reach one tracker.
 */
#ifndef NFQLB_FRAG_H
#define NFQLB_FRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "nfqlb/pkt.h"

#define FRAG_TIMEOUT_DEFAULT 200	/* ms: --frag-timeout */
#define FRAG_MAX_DEFAULT 4096		/* --frag-max */
#define FRAG_MAX_LIMIT (1u << 20)	/* the largest --frag-max */
#define FRAG_TIMEOUT_LIMIT 60000	/* ms: the largest --frag-timeout */

/* What the caller decided for a datagram's first fragment; opaque here. */
struct frag_decision {
	uint32_t verdict;	/* NF_ACCEPT, NF_DROP */
	uint32_t mark;		/* fwmark, 0 for none */
	int32_t flow;		/* flow index, -1 for none */
	uint32_t slot;		/* target slot (counted per target) */
};

enum frag_result {
	FRAG_DECIDED,	/* apply *d to the packet now */
	FRAG_HELD,	/* hold the packet: no verdict until frag_pop() gives it */
	FRAG_FULL,	/* no room to track it: drop the packet */
};

/* Counts since frag_new(); each only grows.  Of the fragments given to
 * frag_decide(): tracked + held + dropped.  Of the held: released +
 * timed_out + those still held. */
struct frag_stats {
	uint64_t tracked;	/* decided at once: first fragments stored,
				 * later ones that found their decision */
	uint64_t held;		/* later fragments that came before their first */
	uint64_t released;	/* held ones given their first's decision */
	uint64_t timed_out;	/* held ones whose first never came */
	uint64_t dropped;	/* fragments with no room to track them */
};

/* A held packet that waits no more (frag_pop()). */
struct frag_out {
	uint32_t id;		/* the packet id given to frag_decide() */
	bool timed_out;		/* true: drop it; false: apply d */
	struct frag_decision d;
};

struct frag;

/**
 * frag_new - a tracker
 * @max: datagrams tracked at once, and packets held at once (1..FRAG_MAX_LIMIT)
 * @timeout_ms: how long a datagram is remembered after its last decided
 *              fragment, and how long the first held fragment of a
 *              datagram waits for its first fragment
 * @seed: the hash seed (a random one keeps chains short whatever the ids)
 *
 * Allocates everything it will use.  Returns the tracker, or NULL with
 * errno EINVAL (max out of range) or ENOMEM.
 */
struct frag *frag_new(uint32_t max, uint32_t timeout_ms, uint32_t seed);

/**
 * frag_free - free a tracker and forget what it holds
 * @t: the tracker, or NULL
 */
void frag_free(struct frag *t);

/**
 * frag_decide - what to do with one packet
 * @t: the tracker
 * @key: its key from pkt_classify_meta() (words 0..7 and 9 are used), or
 *       that key re-keyed by pkt_udp_encap()
 * @meta: its meta (frag, frag_id, v6 and udp_encap are used: a re-keyed
 *        first fragment names the datagram of its UDP later fragments)
 * @id: the packet id, kept if the packet is held
 * @d: a first fragment's decision (read; if the datagram already has one,
 *     that one is written back, so all its fragments agree); for a later
 *     fragment written when FRAG_DECIDED
 * @now_ms: the time, in ms of any clock that does not go back
 *
 * A first fragment's decision is stored; later fragments held before it
 * are then waiting in frag_pop().  A later fragment gets the stored
 * decision, or is held.  A packet that is not a fragment gets
 * FRAG_DECIDED and *d is left alone.
 *
 * Returns FRAG_DECIDED, FRAG_HELD, or FRAG_FULL when the datagram is not
 * tracked and no entry (or, for a later fragment, no held slot) is free.
 */
enum frag_result frag_decide(struct frag *t, const struct pkt_key *key,
			     const struct pkt_meta *meta, uint32_t id,
			     struct frag_decision *d, uint64_t now_ms);

/**
 * frag_expire - forget the datagrams whose time is up
 * @t: the tracker
 * @now_ms: the time
 *
 * The held fragments of a datagram whose first fragment did not come in
 * time wait in frag_pop(), timed out.  Cost: the expired entries only.
 */
void frag_expire(struct frag *t, uint64_t now_ms);

/**
 * frag_pop - the next held packet that waits no more
 * @t: the tracker
 * @o: written
 *
 * Released and timed-out packets come in the order they stopped waiting.
 * Returns true when @o was written, false when none waits.
 */
bool frag_pop(struct frag *t, struct frag_out *o);

/**
 * frag_stats - what the tracker counted
 * @t: the tracker
 * @st: written
 */
void frag_stats(const struct frag *t, struct frag_stats *st);

/**
 * frag_held - packets held now (waiting for their first fragment)
 * @t: the tracker
 */
uint32_t frag_held(const struct frag *t);

#endif
