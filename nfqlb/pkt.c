/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pkt.c: the packet classifier (see pkt.h).
 *
 * Every multi-byte field is assembled from bytes: the capture buffer has no
 * alignment guarantee, and this keeps the code independent of byte order.
 * Every read is checked against `end`, which is the end of the capture or of
 * the packet as its IP header gives it, whichever comes first.
 *
 * A packet cut short is keyed on what is there, because PKT_COPY_RANGE cuts
 * long packets on purpose: an IPv6 extension header chain that runs past the
 * capture, or is longer than PKT_EXT_MAX, gives PKT_L3 with the next-header
 * value of the header the walk could not get past.  Only a chain that runs
 * past the packet's own end (payload_len says it is all there) is malformed.
 * The quoted packet of an ICMP error goes through the same parser, so the
 * same rules hold inside it; but it must quote a whole IP header.
 */
#include <stdbool.h>

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>

#include "nfqlb/pkt.h"
#include "shm/shm.h"

#define IP4_HLEN 20
#define IP6_HLEN 40
#define ICMP_HLEN 8	/* the quoted packet of an ICMP error follows it */
#define ICMP_ID_END 6	/* type, code, checksum, echo id */
#define PORTS_LEN 4
#define TCP_DOFF_END 13	/* the byte holding the TCP data offset, plus one */
#define IP6_FRAG_OFF 0xfff8	/* fragment offset */
#define IP6_FRAG_M 0x0001	/* more fragments */
#define IP4_FRAG_OFF 0x1fff	/* fragment offset */
#define IP4_FRAG_MF 0x2000	/* more fragments */

/* Where the IP layer left off: the transport header is at data[off..end). */
struct pos {
	const uint8_t *data;
	size_t off;
	size_t end;
	uint8_t proto;
	bool v6;
	uint8_t frag;		/* enum pkt_frag */
	uint8_t frag_nh;	/* a first IPv6 fragment's fragment header's
				 * next header */
	uint32_t frag_id;
};

enum icmp_class {
	ICMPC_OTHER,
	ICMPC_ECHO,
	ICMPC_ERROR,
};

/* The kinds are the first counters of the shared state, which names them. */
_Static_assert((int)PKT_L4 == SHM_CNT_L4 && (int)PKT_ICMP_ECHO == SHM_CNT_ICMP_ECHO &&
	       (int)PKT_ICMP_ERROR == SHM_CNT_ICMP_ERROR &&
	       (int)PKT_FRAGMENT == SHM_CNT_FRAGMENT && (int)PKT_L3 == SHM_CNT_L3 &&
	       (int)PKT_MALFORMED == SHM_CNT_MALFORMED && (int)PKT_KIND_MAX == SHM_CNT_KINDS,
	       "packet kinds and kind counters agree");

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * Returns PKT_L4 when pos locates the transport header (its ports are not
 * read yet), PKT_FRAGMENT or PKT_MALFORMED otherwise.
 */
static inline enum pkt_kind parse_v4(const uint8_t *p, size_t len,
				     struct pos *pos, struct pkt_key *key)
{
	size_t hlen, tot;

	if (len < IP4_HLEN)
		return PKT_MALFORMED;
	hlen = (p[0] & 0x0fu) * 4u;
	tot = rd16(p + 2);
	/* tot_len 0 is what GSO and BIG TCP super-packets carry. */
	if (hlen < IP4_HLEN || hlen > len || (tot != 0 && tot < hlen))
		return PKT_MALFORMED;
	key->w[2] = 0xffff;
	key->w[3] = rd32(p + 12);
	key->w[6] = 0xffff;
	key->w[7] = rd32(p + 16);
	key->w[9] = p[9];
	pos->data = p;
	pos->off = hlen;
	/* Bytes past tot_len are link-layer padding, not transport header. */
	pos->end = tot != 0 && tot < len ? tot : len;
	pos->proto = p[9];
	pos->v6 = false;
	pos->frag_id = rd16(p + 4);
	pos->frag = rd16(p + 6) & IP4_FRAG_OFF ? PKT_FRAG_LATER :
		    rd16(p + 6) & IP4_FRAG_MF ? PKT_FRAG_FIRST : PKT_FRAG_NONE;
	/* A first fragment still has its transport header: the caller
	 * reads it (first_fragment()). */
	return pos->frag == PKT_FRAG_NONE ? PKT_L4 : PKT_FRAGMENT;
}

static inline bool is_ext(uint8_t proto)
{
	return proto == IPPROTO_HOPOPTS || proto == IPPROTO_ROUTING ||
	       proto == IPPROTO_DSTOPTS || proto == IPPROTO_FRAGMENT ||
	       proto == IPPROTO_AH;
}

/* Length of the extension header at h, of which left bytes are there; 0 when
 * it does not fit. */
static size_t ext_len(uint8_t proto, const uint8_t *h, size_t left)
{
	size_t n;

	if (proto == IPPROTO_FRAGMENT)
		n = 8;
	else if (left < 2)
		return 0;
	else if (proto == IPPROTO_AH)
		n = (h[1] + 2u) * 4u;	/* RFC 4302: in 4-octet units */
	else
		n = (h[1] + 1u) * 8u;
	return n <= left ? n : 0;
}

/*
 * A fragment header at h: a later fragment stops the walk (keyed by the
 * fragment header's next header, which every later fragment of the
 * datagram carries); a first fragment is noted and the walk goes on to its
 * transport header; an atomic fragment (offset 0, no M flag, RFC 8200
 * 4.5) is no fragment at all.  Returns true when the walk stops here.
 */
static bool frag_header(struct pos *pos, const uint8_t *h)
{
	uint16_t fo = rd16(h + 2);

	if (!(fo & (IP6_FRAG_OFF | IP6_FRAG_M)))
		return false;
	pos->frag_id = rd32(h + 4);
	pos->frag_nh = h[0];
	pos->frag = fo & IP6_FRAG_OFF ? PKT_FRAG_LATER : PKT_FRAG_FIRST;
	return pos->frag == PKT_FRAG_LATER;
}

/*
 * Step over IPv6 extension headers until pos->proto names a transport
 * protocol.  When the walk stops short (more than PKT_EXT_MAX headers, or a
 * header that does not fit) pos->proto is left as the next-header value that
 * names the header it could not get past: the same for every packet of a
 * flow that carries the same chain.  Returns PKT_FRAGMENT for a later
 * fragment, and PKT_L4 for a first one that was walked to its end
 * (pos->frag tells).
 */
static enum pkt_kind walk_ext(struct pos *pos, bool whole)
{
	unsigned int i;

	for (i = 0; is_ext(pos->proto); i++) {
		const uint8_t *h = pos->data + pos->off;
		size_t n;

		if (i == PKT_EXT_MAX)
			return PKT_L3;
		n = ext_len(pos->proto, h, pos->end - pos->off);
		/* Cut off by the capture is normal; by the packet's end not. */
		if (n == 0)
			return whole ? PKT_MALFORMED : PKT_L3;
		if (pos->proto == IPPROTO_FRAGMENT && frag_header(pos, h)) {
			pos->proto = h[0];
			return PKT_FRAGMENT;
		}
		pos->proto = h[0];
		pos->off += n;
	}
	return PKT_L4;
}

/* As parse_v4(), and PKT_L3 when the extension headers cannot be walked. */
static enum pkt_kind parse_v6(const uint8_t *p, size_t len, struct pos *pos,
			      struct pkt_key *key)
{
	enum pkt_kind kind;
	size_t plen;
	bool whole;
	int i;

	if (len < IP6_HLEN)
		return PKT_MALFORMED;
	for (i = 0; i < 4; i++) {
		key->w[i] = rd32(p + 8 + 4 * i);
		key->w[4 + i] = rd32(p + 24 + 4 * i);
	}
	/* payload_len 0 is a jumbogram or a GSO packet: its end is unknown. */
	plen = rd16(p + 4);
	whole = plen != 0 && IP6_HLEN + plen <= len;
	pos->data = p;
	pos->off = IP6_HLEN;
	pos->end = whole ? IP6_HLEN + plen : len;
	pos->proto = p[6];
	pos->v6 = true;
	pos->frag = PKT_FRAG_NONE;
	pos->frag_id = 0;
	kind = walk_ext(pos, whole);
	/* A first fragment whose chain cannot be walked to its transport
	 * header is keyed as a later one (pos->off 0: nothing located). */
	if (pos->frag == PKT_FRAG_FIRST && kind != PKT_L4) {
		pos->proto = pos->frag_nh;
		pos->off = 0;
	}
	if (pos->frag == PKT_FRAG_FIRST)
		kind = PKT_FRAGMENT;
	key->w[9] = pos->proto;
	return kind;
}

static inline enum pkt_kind parse_ip(const uint8_t *p, size_t len,
				     struct pos *pos, struct pkt_key *key)
{
	if (len == 0)
		return PKT_MALFORMED;
	switch (p[0] >> 4) {
	case 4:
		return parse_v4(p, len, pos, key);
	case 6:
		return parse_v6(p, len, pos, key);
	}
	return PKT_MALFORMED;
}

/* Puts the ports in w[8]; PKT_L3 when they were not captured. */
static inline enum pkt_kind parse_ports(const struct pos *pos,
					struct pkt_key *key)
{
	const uint8_t *h = pos->data + pos->off;
	size_t left = pos->end - pos->off;

	if (left < PORTS_LEN)
		return PKT_L3;
	/* Only the ports are used, but a TCP header shorter than its
	 * minimum says these bytes are not what the sender meant. */
	if (pos->proto == IPPROTO_TCP && left >= TCP_DOFF_END && h[12] >> 4 < 5)
		return PKT_MALFORMED;
	key->w[8] = rd32(h);
	return PKT_L4;
}

static inline bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE;
}

static inline bool is_icmp(const struct pos *pos)
{
	return pos->proto == (pos->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
}

static enum icmp_class icmp_class(bool v6, uint8_t type)
{
	if (v6) {
		if (type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY)
			return ICMPC_ECHO;
		return type == ICMP6_DST_UNREACH ||
		       type == ICMP6_PACKET_TOO_BIG ||
		       type == ICMP6_TIME_EXCEEDED ||
		       type == ICMP6_PARAM_PROB ? ICMPC_ERROR : ICMPC_OTHER;
	}
	if (type == ICMP_ECHO || type == ICMP_ECHOREPLY)
		return ICMPC_ECHO;
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB ? ICMPC_ERROR : ICMPC_OTHER;
}

/* The echo id into w[8]; false when the message is not a captured echo. */
static bool icmp_echo_id(const struct pos *pos, struct pkt_key *key)
{
	const uint8_t *h = pos->data + pos->off;

	if (pos->end - pos->off < ICMP_ID_END ||
	    icmp_class(pos->v6, h[0]) != ICMPC_ECHO)
		return false;
	key->w[8] = (uint32_t)rd16(h + 4) << 16;
	return true;
}

/*
 * The quoted packet's transport into w[8]: its ports, swapped here so that
 * the caller only has to swap the addresses, or its echo id, which is not a
 * pair and stays.  Any other ICMP message, errors included, adds nothing: no
 * recursion.  Returns false when the quoted transport header is malformed.
 */
static bool quoted_l4(const struct pos *pos, struct pkt_key *in)
{
	if (is_icmp(pos)) {
		icmp_echo_id(pos, in);
		return true;
	}
	if (!has_ports(pos->proto))
		return true;
	if (parse_ports(pos, in) == PKT_MALFORMED)
		return false;
	in->w[8] = in->w[8] << 16 | in->w[8] >> 16;
	return true;
}

/* The key of the flow the quoted packet belongs to, into key. */
static enum pkt_kind icmp_error(const struct pos *pos, struct pkt_key *key)
{
	struct pkt_key in = { { 0 } };
	enum pkt_kind kind;
	const uint8_t *q;
	struct pos ip;
	size_t qlen;
	int i;

	/* Routers quote at least the whole IP header (RFC 792, RFC 4443). */
	if (pos->end - pos->off <= ICMP_HLEN)
		return PKT_MALFORMED;
	q = pos->data + pos->off + ICMP_HLEN;
	qlen = pos->end - pos->off - ICMP_HLEN;
	if (q[0] >> 4 != (pos->v6 ? 6 : 4))
		return PKT_MALFORMED;
	kind = parse_ip(q, qlen, &ip, &in);
	if (kind == PKT_MALFORMED)
		return kind;
	if (kind == PKT_L4 && !quoted_l4(&ip, &in))
		return PKT_MALFORMED;
	for (i = 0; i < 4; i++) {
		key->w[i] = in.w[4 + i];
		key->w[4 + i] = in.w[i];
	}
	key->w[8] = in.w[8];
	key->w[9] = in.w[9];
	return PKT_ICMP_ERROR;
}

static enum pkt_kind parse_icmp(const struct pos *pos, struct pkt_key *key)
{
	if (pos->end == pos->off)
		return PKT_L3;
	switch (icmp_class(pos->v6, pos->data[pos->off])) {
	case ICMPC_ECHO:
		return icmp_echo_id(pos, key) ? PKT_ICMP_ECHO : PKT_L3;
	case ICMPC_ERROR:
		return icmp_error(pos, key);
	case ICMPC_OTHER:
		break;
	}
	return PKT_L3;
}

/* The transport part of the key of a packet walked to its transport
 * header (pos->off); PKT_L4 when it has ports. */
static inline enum pkt_kind parse_l4(const struct pos *pos, struct pkt_key *key)
{
	if (has_ports(pos->proto))
		return parse_ports(pos, key);
	if (is_icmp(pos))
		return parse_icmp(pos, key);
	return PKT_L3;
}

/*
 * A first fragment is keyed as its unfragmented datagram would be: its
 * ports, or an echo's id.  Anything else (ports not captured, an ICMP
 * error, a TCP header that cannot be trusted) leaves it keyed on
 * addresses and protocol, as the later fragments are.
 */
static __attribute__((noinline, cold)) void
first_fragment(const struct pos *pos, struct pkt_key *key)
{
	struct pkt_key k = *key;

	if (pos->off == 0)
		return;
	if (has_ports(pos->proto) && parse_ports(pos, &k) == PKT_L4)
		*key = k;
	else if (is_icmp(pos) && icmp_echo_id(pos, &k))
		*key = k;
}

/* located: the IP layer was walked to the transport header at pos->off.
 * Both offsets fit: the capture is at most PKT_COPY_RANGE in the worker,
 * and the walk is bounded by PKT_EXT_MAX headers of 2 KB at most. */
static inline void fill_meta(const struct pos *pos, bool located,
			     struct pkt_meta *meta)
{
	size_t n = pos->end - pos->off;

	*meta = (struct pkt_meta){
		.frag_id = pos->frag == PKT_FRAG_NONE ? 0 : pos->frag_id,
		.l4_off = (uint16_t)(located && pos->off <= UINT16_MAX ? pos->off : 0),
		.l4_len = (uint16_t)(!located ? 0 : n > UINT16_MAX ? UINT16_MAX : n),
		.frag = pos->frag,
		.v6 = pos->v6,
	};
}

enum pkt_kind pkt_classify_meta(const uint8_t *data, size_t len,
				struct pkt_key *key, struct pkt_meta *meta)
{
	enum pkt_kind kind;
	struct pos pos;
	bool located;

	*key = (struct pkt_key){ { 0 } };
	kind = parse_ip(data, len, &pos, key);
	if (kind == PKT_MALFORMED)
		goto malformed;
	located = kind == PKT_L4 || (kind == PKT_FRAGMENT &&
				     pos.frag == PKT_FRAG_FIRST && pos.off != 0);
	if (kind == PKT_L4)
		kind = parse_l4(&pos, key);
	else if (located)
		first_fragment(&pos, key);
	if (kind == PKT_MALFORMED)
		goto malformed;
	fill_meta(&pos, located, meta);
	return kind;
malformed:
	*key = (struct pkt_key){ { 0 } };
	*meta = (struct pkt_meta){ 0 };
	return PKT_MALFORMED;
}

enum pkt_kind pkt_classify(const uint8_t *data, size_t len, struct pkt_key *key)
{
	struct pkt_meta meta;
	enum pkt_kind kind = pkt_classify_meta(data, len, key, &meta);

	/* Stateless, every fragment of a datagram must get one key. */
	if (meta.frag == PKT_FRAG_FIRST)
		key->w[8] = 0;
	return kind;
}

const char *pkt_kind_name(enum pkt_kind kind)
{
	if ((unsigned int)kind >= PKT_KIND_MAX)
		return "unknown";
	return shm_cnt_name((enum shm_cnt)kind);
}

/*
 * SCTP over UDP (RFC 6951): an 8-byte UDP header, then the SCTP common
 * header (source port, destination port, verification tag, checksum).  The
 * UDP header must carry the key's own ports, so that a key that is not this
 * UDP header's (an ICMP error's, which quotes UDP) is never re-keyed, and
 * its length must leave room for the SCTP header.
 */
#define UDP_HLEN 8
#define SCTP_COMMON_HLEN 12

bool pkt_udp_encap(const uint8_t *data, const struct pkt_meta *meta,
		   struct pkt_key *key)
{
	const uint8_t *udp = data + meta->l4_off;

	if (meta->l4_off == 0 || key->w[9] != IPPROTO_UDP ||
	    meta->l4_len < UDP_HLEN + SCTP_COMMON_HLEN)
		return false;
	if (rd32(udp) != key->w[8] || rd16(udp + 4) < UDP_HLEN + SCTP_COMMON_HLEN)
		return false;
	key->w[8] = rd32(udp + UDP_HLEN);
	key->w[9] = IPPROTO_SCTP;
	return true;
}
