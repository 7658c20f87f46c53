/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procq.c: reads /proc/net/netfilter/nfnetlink_queue, and finds the
 * process behind a queue's netlink port (see procq.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>

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

/* The inode of the netfilter netlink socket bound to portid, or 0.  Each
 * line of /proc/net/netlink: sk, protocol, port id, groups, rmem, wmem,
 * dump, locks, drops, inode. */
static unsigned long netlink_inode(uint32_t portid)
{
	unsigned int proto, port;
	unsigned long ino, inode = 0;
	char line[256];
	FILE *f = fopen("/proc/net/netlink", "r");

	if (!f)
		return 0;
	while (!inode && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %u %u %*s %*s %*s %*s %*s %*s %lu", &proto, &port,
			   &ino) == 3 && proto == NETLINK_NETFILTER && port == portid)
			inode = ino;
	fclose(f);
	return inode;
}

/* Whether process pid (a /proc entry) has the socket `want` open. */
static bool has_fd(const char *pid, const char *want)
{
	char path[560], link[64];
	struct dirent *d;
	bool found = false;
	DIR *fds;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	fds = opendir(path);
	while (fds && !found && (d = readdir(fds))) {
		snprintf(path, sizeof(path), "/proc/%s/fd/%s", pid, d->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	if (fds)
		closedir(fds);
	return found;
}

int procq_holder(uint32_t portid, char *comm, size_t size)
{
	unsigned long inode = netlink_inode(portid);
	char want[40], path[32];
	struct dirent *p;
	DIR *proc;
	FILE *f;
	int pid = -1;

	if (!inode || !(proc = opendir("/proc")))
		return -1;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	while (pid < 0 && (p = readdir(proc)))
		if (isdigit((unsigned char)p->d_name[0]) && has_fd(p->d_name, want))
			pid = atoi(p->d_name);
	closedir(proc);
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (size)
		comm[0] = '\0';
	if (pid > 0 && size && (f = fopen(path, "r"))) {
		if (fgets(comm, (int)size, f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	return pid;
}
