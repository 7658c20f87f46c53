/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fastpath.c: the fast path's loader (see fastpath.h): loads the program
 * of bpf/fastpath.bpf.c, embedded as a libbpf skeleton, attaches it, and
 * mirrors flow sets and tables into its maps, slot by slot
 * (bpf/fastpath_maps.h). */
#include <errno.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fastpath.skel.h"
#include "nfqlb/bpfutil.h"
#include "nfqlb/fastpath.h"
#include "nfqlb/fpbuild.h"

/* The uapi value of BPF_TCX_INGRESS (Linux 6.6), which older headers lack. */
#define FP_TCX_INGRESS 46
#define FP_IFACES_MAX 16
/* The clsact filter's handle and priority: one of ours is replaced. */
#define FP_TC_HANDLE 0x4e46
#define FP_TC_PRIO 1
#define FP_NO_CNT UINT32_MAX	/* a cell not counted */
#define FP_CLSACT_MS 2000	/* a clsact filter's first deadline */

/* The per-target counters of a table: fp_tcnt[base .. base + n). */
struct range {
	uint64_t ident;
	uint32_t base, n;
	uint8_t used;		/* bit 0: by the slot in use, bit 1: by the other */
};

/* A slot's table as last written: an unchanged one is not written again. */
struct written {
	uint64_t ident, generation;
	uint32_t m, cnt;
};

/* What fp_fcnt counts for a rank of a slot: the flow's counter slot, and
 * what fastpath_flow_counts() has reported of it. */
struct flowcnt {
	uint16_t slot;		/* UINT16_MAX: not reported */
	uint64_t last;
};

struct attachment {
	int ifindex;
	int link;		/* tcx; -1 for clsact */
};

struct fastpath {
	struct fastpath_bpf *skel;
	struct attachment att[FP_IFACES_MAX];
	unsigned int natt;
	bool clsact;			/* fastpath_prefer_clsact() */
	bool has_clsact;		/* attached by a clsact filter somewhere */
	struct fp_ctl ctl;
	struct fp_prefix *pfx[2];	/* what each slot has in fp_addr */
	uint32_t npfx[2];
	struct range *ranges;
	uint32_t nranges;
	uint32_t *keys;			/* 0, 1, 2, ... for batch updates */
	uint32_t nkeys;
	struct written *wr[2];		/* each slot's tables as written */
	uint32_t ntab[2];
	struct flowcnt *fc[2];		/* each slot's flows, by rank */
	uint32_t nfc[2];
};

static int map_fd(const struct bpf_map *m)
{
	return bpf_map__fd(m);
}

static int ctl_write(struct fastpath *fp)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(map_fd(fp->skel->maps.fp_ctl), &zero, &fp->ctl, BPF_ANY);
}

static void load_why(int err, const char *log, char *why)
{
	if (err == EPERM || err == EACCES)
		snprintf(why, WHY_MAX, "cannot load the fast path's BPF program: %s "
			 "(needs CAP_BPF and CAP_NET_ADMIN)", strerror(err));
	else if (log && *log)
		snprintf(why, WHY_MAX, "the kernel refused the fast path's BPF program (%s); "
			 "the verifier's log:", strerror(err));
	else
		snprintf(why, WHY_MAX, "cannot load the fast path's BPF program: %s",
			 strerror(err));
}

struct fastpath *fastpath_load(char *log, size_t log_size, char *why)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .kernel_log_buf = log,
		    .kernel_log_size = log ? log_size : 0);
	struct fastpath *fp = calloc(1, sizeof(*fp));
	int err;

	bpfutil_quiet();
	if (log && log_size)
		log[0] = '\0';
	if (!fp) {
		why_fail(errno, why, "%s", strerror(errno));
		return NULL;
	}
	fp->ctl.active = FP_NO_SLOT;
	fp->ctl.deadline = UINT64_MAX;
	fp->skel = fastpath_bpf__open_opts(&oo);
	if (!fp->skel) {
		err = errno;
		snprintf(why, WHY_MAX, "cannot open the BPF object: %s", strerror(err));
		goto fail;
	}
	if (fastpath_bpf__load(fp->skel) < 0) {
		err = errno;
		load_why(err, log, why);
		goto fail;
	}
	if (ctl_write(fp) < 0) {
		err = errno;
		snprintf(why, WHY_MAX, "cannot write the fast path's maps: %s", strerror(err));
		goto fail;
	}
	return fp;
fail:
	fastpath_close(fp);
	errno = err;
	return NULL;
}

int fastpath_prog_fd(const struct fastpath *fp)
{
	return bpf_program__fd(fp->skel->progs.fastpath);
}

static int attach_clsact(struct fastpath *fp, int ifindex, char *why)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FP_TC_HANDLE, .priority = FP_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE, .prog_fd = fastpath_prog_fd(fp));
	int r = bpf_tc_hook_create(&hook);

	if (r < 0 && r != -EEXIST)
		return why_fail(-r, why, "cannot add a clsact qdisc: %s", strerror(-r));
	r = bpf_tc_attach(&hook, &opts);
	if (r < 0)
		return why_fail(-r, why, "cannot attach to tc ingress (clsact): %s",
				strerror(-r));
	return 0;
}

int fastpath_keepalive(struct fastpath *fp, uint32_t ms)
{
	struct timespec ts;

	if (!fp->has_clsact)
		return 0;	/* tcx links only: no deadline */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fp->ctl.deadline = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec +
			   (uint64_t)ms * 1000000ULL;
	return ctl_write(fp);
}

void fastpath_prefer_clsact(struct fastpath *fp)
{
	fp->clsact = true;
}

int fastpath_attach(struct fastpath *fp, const char *ifname, bool *tcx, char *why)
{
	int ifindex = (int)if_nametoindex(ifname), link = -1;

	if (!ifindex)
		return why_fail(ENODEV, why, "no interface \"%s\" here", ifname);
	if (fp->natt == FP_IFACES_MAX)
		return why_fail(E2BIG, why, "more than %d interfaces", FP_IFACES_MAX);
	errno = EOPNOTSUPP;
	if (!fp->clsact)
		link = bpf_link_create(fastpath_prog_fd(fp), ifindex, FP_TCX_INGRESS, NULL);
	*tcx = link >= 0;
	if (link < 0 && errno != EINVAL && errno != EOPNOTSUPP)
		return why_fail(errno, why, "cannot attach to tc ingress (tcx): %s",
				strerror(errno));
	/* A filter outlives the process: it marks only while we renew. */
	fp->has_clsact |= link < 0;
	if (link < 0 && (fastpath_keepalive(fp, FP_CLSACT_MS) < 0 ||
			 attach_clsact(fp, ifindex, why) < 0))
		return -1;
	fp->att[fp->natt++] = (struct attachment){ ifindex, link };
	return 0;
}

static void detach(struct attachment *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FP_TC_HANDLE, .priority = FP_TC_PRIO);

	if (a->link >= 0)
		close(a->link);
	else
		bpf_tc_detach(&hook, &opts);
}

void fastpath_close(struct fastpath *fp)
{
	unsigned int i;

	if (!fp)
		return;
	for (i = 0; i < fp->natt; i++)
		detach(&fp->att[i]);
	fastpath_bpf__destroy(fp->skel);
	free(fp->pfx[0]);
	free(fp->pfx[1]);
	free(fp->ranges);
	free(fp->keys);
	free(fp->wr[0]);
	free(fp->wr[1]);
	free(fp->fc[0]);
	free(fp->fc[1]);
	free(fp);
}


/* fp->keys holds base, base + 1, ..., base + n - 1. */
static int keys_from(struct fastpath *fp, uint32_t base, uint32_t n)
{
	uint32_t i;

	if (n > fp->nkeys) {
		uint32_t *k = realloc(fp->keys, n * sizeof(*k));

		if (!k)
			return -1;
		fp->keys = k;
		fp->nkeys = n;
	}
	for (i = 0; i < n; i++)
		fp->keys[i] = base + i;
	return 0;
}

/* values[0..n) into map fd at keys base..base+n-1. */
static int batch(struct fastpath *fp, int fd, uint32_t base, const void *values,
		 uint32_t n)
{
	uint32_t count = n;

	if (n == 0)
		return 0;
	if (keys_from(fp, base, n) < 0)
		return -1;
	return bpf_map_update_batch(fd, fp->keys, values, &count, NULL);
}

static int find_range(const struct fastpath *fp, uint64_t ident)
{
	uint32_t i;

	for (i = 0; i < fp->nranges; i++)
		if (fp->ranges[i].used && fp->ranges[i].ident == ident)
			return (int)i;
	return -1;
}

static bool range_free(const struct fastpath *fp, uint32_t base, uint32_t n)
{
	uint32_t i;

	if ((uint64_t)base + n > FP_TCNT_MAX)
		return false;
	for (i = 0; i < fp->nranges; i++) {
		const struct range *r = &fp->ranges[i];

		if (r->used && base < r->base + r->n && r->base < base + n)
			return false;
	}
	return true;
}

/* Zero the elements of fp_tcnt that hold counters base .. base + n, on
 * every CPU (base is a multiple of FP_TCNT_LANES). */
static int zero_counts(struct fastpath *fp, uint32_t base, uint32_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t ne = (n + FP_TCNT_LANES - 1) / FP_TCNT_LANES;
	struct fp_tcnt *z;
	int r;

	if (ncpu < 0)
		return -1;
	z = calloc((size_t)ne * (size_t)ncpu, sizeof(*z));
	if (!z)
		return -1;
	r = batch(fp, map_fd(fp->skel->maps.fp_tcnt), base / FP_TCNT_LANES, z, ne);
	free(z);
	return r;
}

static uint32_t lanes_up(uint32_t x)
{
	return (x + FP_TCNT_LANES - 1) / FP_TCNT_LANES * FP_TCNT_LANES;
}

/* The counters of a table, kept while a slot uses it; FP_NO_CNT when
 * fp_tcnt has no room (its packets are then not counted). */
static uint32_t range_of(struct fastpath *fp, uint64_t ident, uint32_t n)
{
	struct range *r;
	uint32_t i, base;
	int k = ident ? find_range(fp, ident) : -1;

	if (k >= 0 && fp->ranges[k].n == n) {
		fp->ranges[k].used |= 1;
		return fp->ranges[k].base;
	}
	for (base = 0, i = 0; !range_free(fp, base, n); base = lanes_up(r->base + r->n), i++) {
		if (i == fp->nranges)
			return FP_NO_CNT;
		r = &fp->ranges[i];
	}
	for (i = 0; i < fp->nranges && fp->ranges[i].used; i++)
		;
	if (i == fp->nranges) {
		r = realloc(fp->ranges, (fp->nranges + 1) * sizeof(*r));
		if (!r)
			return FP_NO_CNT;
		fp->ranges = r;
		fp->nranges++;
	}
	if (zero_counts(fp, base, n) < 0)
		return FP_NO_CNT;
	fp->ranges[i] = (struct range){ ident, base, n, 1 };
	return base;
}

/* A publish into a new slot: what the old one used moves to bit 1, and
 * what neither uses any more is free. */
static void ranges_age(struct fastpath *fp)
{
	uint32_t i;

	for (i = 0; i < fp->nranges; i++)
		fp->ranges[i].used = (uint8_t)((fp->ranges[i].used & 1) << 1);
}

static int addr_update(struct fastpath *fp, uint32_t s, const struct fp_prefix *p,
		       bool del)
{
	struct fp_addr_key k = { .prefixlen = 16 + p->len, .slot = (uint8_t)s,
				 .dim = p->dim };
	int fd = map_fd(fp->skel->maps.fp_addr);

	memcpy(k.addr, p->addr, sizeof(k.addr));
	if (del)
		return bpf_map_delete_elem(fd, &k) < 0 && errno != ENOENT ? -1 : 0;
	return bpf_map_update_elem(fd, &k, &p->bits, BPF_ANY);
}

/* fp_addr of slot s: the old entries out, the image's in (kept, to be
 * taken out next time). */
static int write_prefixes(struct fastpath *fp, uint32_t s, struct fp_image *img)
{
	struct fp_prefix *old = fp->pfx[s];
	uint32_t i;

	for (i = 0; i < fp->npfx[s]; i++)
		if (addr_update(fp, s, &old[i], true) < 0)
			return -1;
	fp->pfx[s] = img->pfx;
	fp->npfx[s] = 0;
	img->pfx = old;
	for (i = 0; i < img->npfx; i++) {
		if (addr_update(fp, s, &fp->pfx[s][i], false) < 0)
			return -1;
		fp->npfx[s] = i + 1;
	}
	return 0;
}

/* The lookup entries of a table as cells: mark and counter. */
static struct fp_cell *cells_of(const struct fastpath_table *t, uint32_t cnt)
{
	struct fp_cell *c = malloc(t->m * sizeof(*c));
	uint32_t e, slot;

	if (!c)
		return NULL;
	for (e = 0; e < t->m; e++) {
		slot = t->lookup[e];
		c[e] = slot < t->n ? (struct fp_cell){ t->targets[slot].id,
				     cnt == FP_NO_CNT ? FP_NO_CNT : cnt + slot } :
				     (struct fp_cell){ 0, FP_NO_CNT };
	}
	return c;
}

/* The inner maps made for a slot's tables, with their keys in fp_cells.
 * Each update call on a map of maps waits for an RCU grace period (the
 * kernel's maybe_wait_bpf_programs(), tens of milliseconds), but a batch
 * update waits once (Linux 6.8): so they go in all at once. */
struct inners {
	uint32_t *keys;
	int *fds;
	uint32_t n;
};

/* Put the inner maps into fp_cells, in one batch when the kernel can. */
static int inners_put(struct fastpath *fp, struct inners *in)
{
	int fd = map_fd(fp->skel->maps.fp_cells), r = 0;
	uint32_t i, count = in->n;

	if (in->n && bpf_map_update_batch(fd, in->keys, in->fds, &count, NULL) < 0)
		for (i = 0; i < in->n && r == 0; i++)
			r = bpf_map_update_elem(fd, &in->keys[i], &in->fds[i], BPF_ANY);
	return r;
}

static void inners_free(struct inners *in)
{
	uint32_t i;

	for (i = 0; i < in->n; i++)
		close(in->fds[i]);
	free(in->keys);
	free(in->fds);
}

/* Table t of slot s: a new inner map of cells (into fp_cells later, with
 * inners_put()), and fp_tab. */
static int write_table(struct fastpath *fp, uint32_t s, uint32_t t,
		       const struct fastpath_table *tab, struct inners *in)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_INNER_MAP);
	struct fp_table ft = { 0 };
	uint32_t key = s * FP_TABLES_MAX + t, cnt;
	struct fp_cell *c = NULL;
	int inner = -1, r = -1;

	if (!tab->lookup || tab->m == 0) {
		if (bpf_map_delete_elem(map_fd(fp->skel->maps.fp_cells), &key) < 0 &&
		    errno != ENOENT)
			return -1;
		return bpf_map_update_elem(map_fd(fp->skel->maps.fp_tab), &key, &ft, BPF_ANY);
	}
	cnt = range_of(fp, tab->ident, tab->n);
	c = cells_of(tab, cnt);
	if (!c)
		return -1;
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fp_cells_t", sizeof(uint32_t),
			       sizeof(*c), tab->m, &mo);
	if (inner < 0 || batch(fp, inner, 0, c, tab->m) < 0)
		goto out;
	in->keys[in->n] = key;
	in->fds[in->n++] = inner;
	inner = -1;
	ft = (struct fp_table){ tab->m, tab->seed, (uint32_t)tab->mode, 0 };
	r = bpf_map_update_elem(map_fd(fp->skel->maps.fp_tab), &key, &ft, BPF_ANY);
out:
	if (inner >= 0)
		close(inner);
	free(c);
	return r;
}

static bool unchanged(const struct written *w, const struct fastpath_table *t,
		      uint32_t cnt)
{
	return t->ident && t->lookup && w->ident == t->ident &&
	       w->generation == t->generation && w->m == t->m && w->cnt == cnt;
}

/* The tables of slot s; the ones no longer there are emptied. */
static int write_tables(struct fastpath *fp, uint32_t s, const struct fastpath_set *set)
{
	static const struct fastpath_table none = { 0 };
	struct written *w = fp->wr[s];
	struct inners in = { 0 };
	uint32_t t, cnt;
	int r = -1;

	if (!w && !(w = fp->wr[s] = calloc(FP_TABLES_MAX, sizeof(*w))))
		return -1;
	in.keys = malloc((set->ntab + 1) * sizeof(*in.keys));
	in.fds = malloc((set->ntab + 1) * sizeof(*in.fds));
	if (!in.keys || !in.fds)
		goto out;
	for (t = 0; t < set->ntab; t++) {
		const struct fastpath_table *tab = &set->tab[t];

		cnt = tab->lookup ? range_of(fp, tab->ident, tab->n) : FP_NO_CNT;
		if (t < fp->ntab[s] && unchanged(&w[t], tab, cnt))
			continue;
		w[t] = (struct written){ 0 };
		if (write_table(fp, s, t, tab, &in) < 0)
			goto out;
		w[t] = (struct written){ tab->ident, tab->generation, tab->m, cnt };
	}
	for (; t < fp->ntab[s]; t++) {
		w[t] = (struct written){ 0 };
		if (write_table(fp, s, t, &none, &in) < 0)
			goto out;
	}
	if (inners_put(fp, &in) < 0)
		goto out;
	fp->ntab[s] = set->ntab;
	r = 0;
out:
	inners_free(&in);
	return r;
}

/* fp_fcnt of slot s from 0, for the image's flows. */
static int write_flowcnt(struct fastpath *fp, uint32_t s, const struct fp_image *img,
			 const struct fastpath_set *set)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *z;
	uint32_t r;
	int ret;

	if (ncpu < 0)
		return -1;
	if (!fp->fc[s] && !(fp->fc[s] = calloc(FP_FLOWS_MAX, sizeof(*fp->fc[s]))))
		return -1;
	z = calloc((size_t)fp->nfc[s] * (size_t)ncpu + 1, sizeof(*z));
	if (!z)
		return -1;
	ret = batch(fp, map_fd(fp->skel->maps.fp_fcnt), s * FP_FLOWS_MAX, z, fp->nfc[s]);
	free(z);
	if (ret < 0)
		return -1;
	for (r = 0; r < img->nflows; r++)
		fp->fc[s][r] = (struct flowcnt){ set->flow_slot ?
						 set->flow_slot[img->rank[r].flow] : UINT16_MAX, 0 };
	fp->nfc[s] = img->nflows;
	return 0;
}

static int write_slot(struct fastpath *fp, uint32_t s, struct fp_image *img,
		      const struct fastpath_set *set)
{
	uint32_t key = s;

	if (write_flowcnt(fp, s, img, set) < 0 || write_prefixes(fp, s, img) < 0 ||
	    batch(fp, map_fd(fp->skel->maps.fp_bits), s * FP_BITS_MAX, img->bits,
		  img->nbits) < 0 ||
	    batch(fp, map_fd(fp->skel->maps.fp_port), s * 2 * 65536, img->port,
		  2 * 65536) < 0 ||
	    batch(fp, map_fd(fp->skel->maps.fp_flow), s * FP_FLOWS_MAX, img->rank,
		  img->nflows) < 0 ||
	    write_tables(fp, s, set) < 0)
		return -1;
	return bpf_map_update_elem(map_fd(fp->skel->maps.fp_slot), &key, &img->hdr, BPF_ANY);
}

/* Mark nothing until the next publish succeeds. */
static int turn_off(struct fastpath *fp, int err)
{
	fp->ctl.active = FP_NO_SLOT;
	fp->ctl.seq++;
	ctl_write(fp);
	errno = err;
	return -1;
}

int fastpath_publish(struct fastpath *fp, const struct fastpath_set *set, char *why)
{
	uint32_t s = fp->ctl.active == 0 ? 1 : 0;
	struct fp_image img;
	int err;

	if (fp_image_build(set, &img, why) < 0)
		return turn_off(fp, errno);
	/* Runs still reading slot s see the sequence move: they mark nothing. */
	fp->ctl.seq++;
	if (ctl_write(fp) < 0)
		goto fail;
	ranges_age(fp);
	if (write_slot(fp, s, &img, set) < 0)
		goto fail;
	fp_image_free(&img);
	fp->ctl.active = s;
	fp->ctl.seq++;
	if (ctl_write(fp) < 0) {
		err = errno;
		why_fail(err, why, "cannot flip the fast path's slot: %s", strerror(err));
		return turn_off(fp, err);
	}
	return 0;
fail:
	err = errno;
	fp_image_free(&img);
	why_fail(err, why, "cannot write the fast path's maps: %s", strerror(err));
	return turn_off(fp, err);
}

/* Sum n per-CPU counters from fd at keys base..base+n-1 into out. */
static int sum_percpu(int fd, uint32_t base, uint32_t n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	uint64_t *v;
	uint32_t i, key;

	if (ncpu < 0) {
		errno = -ncpu;
		return -1;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -1;
	for (i = 0; i < n; i++) {
		key = base + i;
		if (bpf_map_lookup_elem(fd, &key, v) < 0) {
			free(v);
			return -1;
		}
		for (out[i] = 0, c = 0; c < ncpu; c++)
			out[i] += v[c];
	}
	free(v);
	return 0;
}

int fastpath_counts(const struct fastpath *fp, uint64_t *c)
{
	return sum_percpu(map_fd(fp->skel->maps.fp_kind), 0,
			  FP_C_MAX, c);
}

/* Counters base .. base + n of fp_tcnt, summed over CPUs, into out. */
static int sum_tcnt(const struct fastpath *fp, uint32_t base, uint32_t n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), c, fd = map_fd(fp->skel->maps.fp_tcnt);
	struct fp_tcnt *v;
	uint32_t i, e = UINT32_MAX, key;

	if (ncpu < 0) {
		errno = -ncpu;
		return -1;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -1;
	for (i = 0; i < n; i++) {
		key = (base + i) / FP_TCNT_LANES;
		if (key != e && bpf_map_lookup_elem(fd, &key, v) < 0) {
			free(v);
			return -1;
		}
		e = key;
		for (out[i] = 0, c = 0; c < ncpu; c++)
			out[i] += v[c].n[(base + i) % FP_TCNT_LANES];
	}
	free(v);
	return 0;
}

int fastpath_target_counts(const struct fastpath *fp, uint64_t ident, uint64_t *out,
			   uint32_t n)
{
	uint32_t i;

	for (i = 0; i < fp->nranges; i++) {
		const struct range *r = &fp->ranges[i];

		if ((r->used & 1) && r->ident == ident && r->n == n)
			return sum_tcnt(fp, r->base, n, out);
	}
	errno = ENOENT;
	return -1;
}

int fastpath_flow_counts(struct fastpath *fp, void (*add)(void *arg, uint16_t slot,
							  uint64_t n), void *arg)
{
	uint32_t s, r;
	uint64_t n;

	for (s = 0; s < 2; s++) {
		for (r = 0; r < fp->nfc[s]; r++) {
			struct flowcnt *c = &fp->fc[s][r];

			if (c->slot == UINT16_MAX)
				continue;
			if (sum_percpu(map_fd(fp->skel->maps.fp_fcnt), s * FP_FLOWS_MAX + r, 1,
				       &n) < 0)
				return -1;
			if (n > c->last)
				add(arg, c->slot, n - c->last);
			c->last = n;
		}
	}
	return 0;
}
