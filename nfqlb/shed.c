/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shed.c: load shedding in XDP or tc (see shed.h): loads the programs of
 * bpf/shed.bpf.c, embedded in nfqlb as a libbpf skeleton, fills their
 * maps and attaches one of them through a BPF link. */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/shed_maps.h"
#include "nfqlb/bpfutil.h"
#include "nfqlb/shed.h"
#include "shed.skel.h"

#define SHED_MAX (UINT32_MAX - UINT32_MAX / 32)

/* The uapi value of BPF_TCX_INGRESS (Linux 6.6), which older headers lack. */
#define SHED_TCX_INGRESS 46

struct shed {
	struct shed_bpf *skel;
	int link;
};

static void load_why(int err, const char *log, char *why)
{
	if (err == EPERM)
		snprintf(why, WHY_MAX, "cannot load the BPF program: %s (needs CAP_BPF)",
			 strerror(err));
	else if (log && *log)
		snprintf(why, WHY_MAX, "the kernel refused the BPF program (%s); the verifier's log:",
			 strerror(err));
	else
		snprintf(why, WHY_MAX, "cannot load the BPF program: %s", strerror(err));
}

struct shed *shed_load(bool syn_only, char *log, size_t log_size, char *why)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .kernel_log_buf = log,
		    .kernel_log_size = log ? log_size : 0);
	struct shed *s = calloc(1, sizeof(*s));
	int err;

	bpfutil_quiet();
	if (log && log_size)
		log[0] = '\0';
	if (!s) {
		snprintf(why, WHY_MAX, "%s", strerror(errno));
		return NULL;
	}
	s->link = -1;
	s->skel = shed_bpf__open_opts(&oo);
	if (!s->skel) {
		err = errno;
		snprintf(why, WHY_MAX, "cannot open the BPF object: %s", strerror(err));
		goto fail;
	}
	s->skel->rodata->shed_syn_only = syn_only;
	if (shed_bpf__load(s->skel) < 0) {
		err = errno;
		load_why(err, log, why);
		goto fail;
	}
	return s;
fail:
	shed_close(s);
	errno = err;
	return NULL;
}

static int attach(struct shed *s, unsigned int ifindex, bool tc)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = tc ? 0 : XDP_FLAGS_DRV_MODE);

	s->link = bpf_link_create(shed_prog_fd(s, tc), (int)ifindex,
				  tc ? SHED_TCX_INGRESS : BPF_XDP, &lo);
	return s->link < 0 ? -1 : 0;
}

int shed_attach(struct shed *s, const char *ifname, enum shed_mode mode, bool *tc,
		char *why)
{
	unsigned int ifindex = if_nametoindex(ifname);

	if (!ifindex)
		return why_fail(ENODEV, why, "no interface \"%s\" here", ifname);
	*tc = false;
	if (mode != SHED_TC && attach(s, ifindex, false) == 0)
		return 0;
	if (mode == SHED_XDP)
		return why_fail(errno, why, "cannot attach XDP in driver mode: %s",
				strerror(errno));
	*tc = true;
	if (attach(s, ifindex, true) == 0)
		return 0;
	return why_fail(errno, why, "cannot attach to tc ingress (tcx): %s", strerror(errno));
}

/* Clear the bits of addr past the first len. */
static void mask_prefix(uint8_t *addr, unsigned int bytes, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < bytes; i++) {
		if (len >= 8 * (i + 1))
			continue;
		addr[i] &= len > 8 * i ? (uint8_t)(0xff << (8 * (i + 1) - len)) : 0;
	}
}

int shed_add_prefix(struct shed *s, int family, const void *addr, unsigned int len)
{
	struct shed_key4 k4 = { .prefixlen = len };
	struct shed_key6 k6 = { .prefixlen = len };
	uint8_t one = 1;

	if (family == AF_INET && len <= 32) {
		memcpy(k4.addr, addr, sizeof(k4.addr));
		mask_prefix(k4.addr, sizeof(k4.addr), len);
		return bpf_map__update_elem(s->skel->maps.shed_vip4, &k4, sizeof(k4),
					    &one, sizeof(one), BPF_ANY) < 0 ? -1 : 0;
	}
	if (family == AF_INET6 && len <= 128) {
		memcpy(k6.addr, addr, sizeof(k6.addr));
		mask_prefix(k6.addr, sizeof(k6.addr), len);
		return bpf_map__update_elem(s->skel->maps.shed_vip6, &k6, sizeof(k6),
					    &one, sizeof(one), BPF_ANY) < 0 ? -1 : 0;
	}
	errno = EINVAL;
	return -1;
}

int shed_mode_parse(const char *name)
{
	static const char *const names[] = { "auto", "xdp", "tc" };
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int shed_set(struct shed *s, uint32_t share)
{
	uint32_t key = 0;

	return bpf_map__update_elem(s->skel->maps.shed_share, &key, sizeof(key),
				    &share, sizeof(share), BPF_ANY) < 0 ? -1 : 0;
}

int shed_dropped(const struct shed *s, uint64_t *n)
{
	int i, ncpu = libbpf_num_possible_cpus();
	uint64_t *v;
	uint32_t key = 0;

	if (ncpu < 0) {
		errno = -ncpu;
		return -1;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -1;
	if (bpf_map__lookup_elem(s->skel->maps.shed_dropped, &key, sizeof(key), v,
				 (size_t)ncpu * sizeof(*v), 0) < 0) {
		free(v);
		return -1;
	}
	for (*n = 0, i = 0; i < ncpu; i++)
		*n += v[i];
	free(v);
	return 0;
}

int shed_prog_fd(const struct shed *s, bool tc)
{
	return bpf_program__fd(tc ? s->skel->progs.shed_tc : s->skel->progs.shed_xdp);
}

void shed_close(struct shed *s)
{
	if (!s)
		return;
	if (s->link >= 0)
		close(s->link);
	shed_bpf__destroy(s->skel);
	free(s);
}

uint32_t shed_next(uint32_t share, const struct shed_sample *s)
{
	double pass = 1.0 - share / 4294967296.0;

	if (s->dropped)
		pass *= (double)s->queued / (double)(s->queued + s->dropped) * 15 / 16;
	else if (s->waiting > s->qlength / 2)
		pass *= 31.0 / 32;
	else if (s->waiting < s->qlength / 8)
		pass += (1.0 - pass) / 8 + 1.0 / 4096;
	if (pass >= 1.0)
		return 0;
	if (pass < 1.0 / 32)
		return SHED_MAX;
	return (uint32_t)((1.0 - pass) * 4294967296.0);
}
