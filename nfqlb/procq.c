/* procq.c: reads /proc/net/netfilter/nfnetlink_queue (see procq.h). */
#include <errno.h>
#include <stdio.h>

#include "nfqlb/procq.h"

#define PROC_QUEUES "/proc/net/netfilter/nfnetlink_queue"

/* Each line: queue, portid, waiting, copy mode, copy range, queue drops,
 * socket drops, last id, and a constant 1. */
static int parse_row(const char *line, struct procq_row *r)
{
	unsigned long long waiting, dropped, udropped;
	unsigned int num, portid, mode, range, id;

	if (sscanf(line, "%u %u %llu %u %u %llu %llu %u", &num, &portid, &waiting,
		   &mode, &range, &dropped, &udropped, &id) != 8)
		return -1;
	*r = (struct procq_row){ num, portid, waiting, dropped, udropped, id };
	return 0;
}

int procq_find(uint16_t queue, struct procq_row *row)
{
	char line[256];
	int ret = -1;
	FILE *f = fopen(PROC_QUEUES, "r");

	if (!f)
		return -1;
	while (ret < 0 && fgets(line, sizeof(line), f))
		if (parse_row(line, row) == 0 && row->num == queue)
			ret = 0;
	fclose(f);
	if (ret < 0)
		errno = ENOENT;
	return ret;
}

void procq_sum(uint16_t first, uint16_t last, uint64_t *waiting, uint64_t *drops,
	       uint32_t *ids)
{
	struct procq_row r;
	char line[256];
	FILE *f = fopen(PROC_QUEUES, "r");

	*waiting = 0;
	*drops = 0;
	*ids = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (parse_row(line, &r) == 0 && r.num >= first && r.num <= last) {
			*waiting = r.waiting > *waiting ? r.waiting : *waiting;
			*drops += r.dropped + r.udropped;
			*ids += r.last_id;
		}
	fclose(f);
}
