/* shedctl.c: the shedding controller (see shedctl.h). */
#include "nfqlb/log.h"
#include "nfqlb/procq.h"
#include "nfqlb/shedctl.h"

/* Every 10 s while shedding, and once when it stops: the average share. */
static void shed_log(struct shedder *sh)
{
	sh->sum += sh->share / 42949672.96;
	if (++sh->ticks < 1000000000 / SHED_TICK_NS * 10)
		return;
	if (sh->sum > 0)
		lb_log("overload: shed %.1f%% of the packets in the last 10 s", sh->sum / sh->ticks);
	else if (sh->shedding)
		lb_log("overload is over: shedding stopped");
	sh->shedding = sh->sum > 0;
	sh->sum = 0;
	sh->ticks = 0;
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
