/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowtext.h: a flow's fields to and from the text of the command line
 * (`nfqlb flow set` options), for the CLI, its listings, save files and
 * rules.  Pure: no I/O, no allocation.
 *
 * Parsers return 0, or -1 with errno EINVAL and a one-line reason in `why`
 * (WHY_MAX bytes, shm/why.h) that quotes the bad item.  Formatters write
 * text that the matching parser reads back to the same value. */
#ifndef NFQLB_FLOWTEXT_H
#define NFQLB_FLOWTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "flows/flow.h"

/* Room for any list a formatter writes, NUL included: FLOW_CIDR_MAX IPv6
 * prefixes with their commas. */
#define FLOWTEXT_MAX 1664
/* Room for one prefix or one port range. */
#define FLOWTEXT_ITEM 56

/**
 * flowtext_name_why - the rule a flow name breaks, or NULL for a good one
 * @name: the name
 *
 * A name is 1..FLOW_NAME_MAX bytes of letters, digits, '.', '_' and '-',
 * and does not start with '-'.  Returns a static string naming the rule.
 */
const char *flowtext_name_why(const char *name);

/**
 * flowtext_protos - parse --proto LIST: tcp, udp, sctp, icmp, comma-separated
 * @s: the text
 * @protos: written: enum flow_proto bits (never 0)
 * @why: the reason on failure
 */
int flowtext_protos(const char *s, uint32_t *protos, char *why);

/**
 * flowtext_cidrs - parse --dst or --src CIDRS: comma-separated prefixes
 * @s: the text; each item an IPv4 or IPv6 address, maybe with /LEN; a
 *     bare address is a /32 or /128
 * @c: FLOW_CIDR_MAX entries, written (struct flow_cidr's form)
 * @n: written: how many
 * @why: the reason on failure
 *
 * Only canonical prefixes are taken: an address with bits set past its
 * length is refused, and the reason names the prefix meant.  An IPv6
 * prefix inside ::ffff:0:0/96 is refused too (it would never match an
 * IPv4 packet; write the IPv4 prefix).  At most FLOW_CIDR_MAX items.
 */
int flowtext_cidrs(const char *s, struct flow_cidr *c, uint16_t *n, char *why);

/**
 * flowtext_ports - parse --dport or --sport PORTS: "80,443,8000-8099"
 * @s: the text; ports 1..65535, a range LO-HI with LO <= HI
 * @p: FLOW_PORT_MAX entries, written
 * @n: written: how many (at most FLOW_PORT_MAX)
 * @why: the reason on failure
 */
int flowtext_ports(const char *s, struct flow_ports *p, uint16_t *n, char *why);

/**
 * flowtext_prio - parse --prio P: a decimal FLOW_PRIO_MIN..FLOW_PRIO_MAX
 */
int flowtext_prio(const char *s, int32_t *prio, char *why);

/**
 * flowtext_port - parse one port 1..65535 (--udp-encap)
 */
int flowtext_port(const char *s, uint16_t *port, char *why);

/**
 * flowtext_proto_name - the name of protocol bit i (0..3): "tcp", "udp",
 * "sctp", "icmp"; NULL past them
 */
const char *flowtext_proto_name(unsigned int i);

/**
 * flowtext_fmt_protos - protocols as flowtext_protos() reads them
 * @protos: enum flow_proto bits; 0 gives ""
 * @buf: written, NUL-terminated
 * @len: its size (FLOWTEXT_ITEM will do)
 */
void flowtext_fmt_protos(uint32_t protos, char *buf, size_t len);

/**
 * flowtext_fmt_cidr - one prefix: "10.0.0.0/8", "2001:db8::/32"
 * @c: the prefix
 * @buf: written, NUL-terminated
 * @len: its size (FLOWTEXT_ITEM will do)
 */
void flowtext_fmt_cidr(const struct flow_cidr *c, char *buf, size_t len);

/**
 * flowtext_fmt_cidrs - prefixes as flowtext_cidrs() reads them; "" for none
 * @len: the size of buf (FLOWTEXT_MAX will do)
 */
void flowtext_fmt_cidrs(const struct flow_cidr *c, size_t n, char *buf, size_t len);

/**
 * flowtext_fmt_port - one port or range: "80", "8000-8099"
 */
void flowtext_fmt_port(const struct flow_ports *p, char *buf, size_t len);

/**
 * flowtext_fmt_ports - ports as flowtext_ports() reads them; "" for none
 * @len: the size of buf (FLOWTEXT_MAX will do)
 */
void flowtext_fmt_ports(const struct flow_ports *p, size_t n, char *buf, size_t len);

#endif
