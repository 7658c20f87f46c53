/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shedctl.c: the shedding controller (see shedctl.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nfqlb/log.h"
#include "nfqlb/procq.h"
#include "nfqlb/shedctl.h"

/* The verifier's log of a refused program: its last part is kept. */
static char verifier_log[1 << 16];

/* The verifier's log after the one-line error, each line indented. */
static void print_log(const char *log)
{
	const char *end;

	for (; *log; log = *end ? end + 1 : end) {
		end = strchrnul(log, '\n');
		fprintf(stderr, "  %.*s\n", (int)(end - log), log);
	}
}

static int add_vips(struct shed *s, const struct lb_conf *c, char *why)
{
	char a[INET6_ADDRSTRLEN];
	unsigned int i;

	for (i = 0; i < c->nvip; i++)
		if (shed_add_prefix(s, c->vip[i].family, c->vip[i].addr, c->vip[i].len) < 0)
			return why_fail(errno, why, "cannot add VIP %s/%u: %s",
					inet_ntop(c->vip[i].family, c->vip[i].addr, a, sizeof(a)),
					c->vip[i].len, strerror(errno));
	return 0;
}

int shedctl_start(const struct cmd *cmd, struct shedder *sh, const struct lb_conf *c)
{
	char why[WHY_MAX];
	bool tc;

	sh->shed = shed_load(c->syn_only, verifier_log, sizeof(verifier_log), why);
	if (!sh->shed) {
		cmd_error(cmd, "shed on %s: %s", c->shed, why);
		print_log(verifier_log);
		return NFQLB_FAIL;
	}
	if (add_vips(sh->shed, c, why) < 0 ||
	    shed_attach(sh->shed, c->shed, c->shed_mode, &tc, why) < 0) {
		shed_close(sh->shed);
		sh->shed = NULL;
		return cmd_error(cmd, "shed on %s: %s", c->shed, why);
	}
	lb_log("shedding on %s under overload (%s), packets to %u VIP prefixes%s", c->shed,
	       tc ? "tc ingress" : "XDP in the driver", c->nvip,
	       c->syn_only ? ", SYN-only: TCP SYNs and non-TCP only" : "");
	return NFQLB_OK;
}

/* Once when shedding starts; every 10 s while shedding, the average share
 * and the drops; once when it stops. */
static void shed_log(struct shedder *sh)
{
	uint64_t n = sh->dropped;

	if (sh->share && !sh->shedding) {
		lb_log("overload: shedding started");
		sh->shedding = true;
	}
	sh->sum += sh->share / 42949672.96;
	if (++sh->ticks < 1000000000 / SHED_TICK_NS * 10)
		return;
	shed_dropped(sh->shed, &n);
	if (sh->sum > 0)
		lb_log("overload: shed %.1f%% of the VIP packets in the last 10 s, %llu dropped",
		       sh->sum / sh->ticks, (unsigned long long)(n - sh->dropped));
	else if (sh->shedding)
		lb_log("overload is over: shedding stopped");
	sh->shedding = sh->sum > 0;
	sh->sum = 0;
	sh->ticks = 0;
	sh->dropped = n;
}

void shedctl_tick(struct shedder *sh, const struct lb_conf *c)
{
	struct shed_sample s = { .qlength = c->qlength };
	uint64_t drops;
	uint32_t ids, next;

	procq_sum(c->qfirst, c->qlast, &s.waiting, &drops, &ids);
	s.dropped = drops - sh->drops;
	s.queued = (uint32_t)(ids - sh->ids);
	sh->drops = drops;
	sh->ids = ids;
	next = shed_next(sh->share, &s);
	if (next != sh->share && shed_set(sh->shed, next) == 0)
		sh->share = next;
	shed_log(sh);
}

void shedctl_stop(struct shedder *sh, const struct lb_conf *c)
{
	uint64_t n;

	if (!sh->shed)
		return;
	if (shed_dropped(sh->shed, &n) == 0)
		lb_log("shedding on %s: %llu packets dropped in all", c->shed,
		       (unsigned long long)n);
	shed_close(sh->shed);
	sh->shed = NULL;
}
