/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_shm.c: libFuzzer target for the validation of the shared state.
 *
 * The input is a state file: byte 0 holds flags, the rest is written as
 * the object /dev/shm/nfqlb-fuzz-<pid>, and the production code opens it by
 * name, as every command and the worker do:
 *   bit 0  pad: set the object's size to the size its header claims (at
 *          most FUZZ_SIZE_MAX), so short inputs reach the table checks;
 *   bit 1  writable: attach for writing and run activate and deactivate;
 *   bit 2  also run `nfqlb show --json` and `nfqlb stats --json` on it;
 *   bit 3  flow set: the input is not a table but the published buffer
 *          of a flow set (flows/flowset.h), see fuzz_flowset() below.
 * What must hold: a refused object gets errno EBADMSG or EPROTONOSUPPORT
 * and a one-line reason; an accepted one has a sane header; a table that
 * shm_read() accepts passes an independent re-check; show and stats agree
 * with shm_read(); writers refuse an invalid table, or an update that
 * would leave an active target without entries, without changing the
 * generation, and turn a valid one they change into exactly the Maglev
 * table of its active targets.  A flow set that flowset_read() accepts
 * passes an independent re-check and its lists read back from their text
 * (flowtext.h) unchanged; `nfqlb flow list --json` agrees with it; a
 * writer refuses a damaged set without a new generation, and adds a flow
 * to a valid one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "flows/flowset.h"
#include "flows/flowset_layout.h"
#include "flows/flowtext.h"
#include "maglev/maglev.h"
#include "nfqlb/cli.h"
#include "shm/shm.h"

#define REQUIRE(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_shm: %s:%d: contract broken: %s\n",	\
			__FILE__, __LINE__, #c);			\
		abort();						\
	}								\
} while (0)

#define FUZZ_SIZE_MAX (4u << 20)
#define F_PAD 1
#define F_WRITE 2
#define F_CLI 4
#define F_FLOWS 8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char name[64];
static char path[80];
static FILE *devnull;

static void remove_object(void)
{
	shm_unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(name, sizeof(name), "nfqlb-fuzz-%d", (int)getpid());
	snprintf(path, sizeof(path), "/%s", name);
	devnull = fopen("/dev/null", "w");
	REQUIRE(devnull != NULL);
	atexit(remove_object);
	return 0;
}

static void write_object(const uint8_t *data, size_t size, bool pad)
{
	int fd = shm_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint64_t want;

	REQUIRE(fd >= 0);
	REQUIRE(size == 0 || write(fd, data, size) == (ssize_t)size);
	if (pad && size >= sizeof(struct shm_hdr)) {
		memcpy(&want, data + offsetof(struct shm_hdr, size), sizeof(want));
		if (want <= FUZZ_SIZE_MAX)
			REQUIRE(ftruncate(fd, (off_t)want) == 0);
	}
	close(fd);
}

static void check_why(const char *why)
{
	REQUIRE(why[0] != '\0');
	REQUIRE(strchr(why, '\n') == NULL);
	REQUIRE(strlen(why) < WHY_MAX);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The rules of shm_view_check(), written again from shm.h. */
static void recheck_view(const struct shm_view *v)
{
	uint32_t *count = calloc(v->n, sizeof(*count)), *ids = calloc(v->n, sizeof(*ids));
	uint32_t i, k = 0;

	REQUIRE(count && ids);
	for (i = 0; i < v->n; i++) {
		const struct shm_target *t = &v->targets[i];

		REQUIRE(t->active <= 1);
		if (!t->active)
			continue;
		REQUIRE(t->id != 0 && t->weight >= 1 && t->weight <= MAGLEV_WEIGHT_MAX);
		ids[k++] = t->id;
	}
	qsort(ids, k, sizeof(*ids), cmp_u32);
	for (i = 1; i < k; i++)
		REQUIRE(ids[i] != ids[i - 1]);
	for (i = 0; i < v->m; i++) {
		uint32_t slot = v->lookup[i];

		REQUIRE(k ? slot < v->n && v->targets[slot].active : slot == SHM_NO_SLOT);
		if (k)
			count[slot]++;
	}
	for (i = 0; i < v->n; i++)
		REQUIRE(!v->targets[i].active || v->targets[i].entries == count[i]);
	free(count);
	free(ids);
}

static void check_header(const struct shm *s)
{
	REQUIRE(s->m >= 2 && s->m <= SHM_M_MAX && maglev_is_prime(s->m));
	REQUIRE(s->n >= 1 && s->n <= SHM_N_MAX && s->n <= s->m);
	REQUIRE((unsigned int)s->mode < HASH_MODE_MAX);
	REQUIRE(s->size >= sizeof(struct shm_hdr));
}

/* The view must be the Maglev table of its own active targets. */
static void check_is_maglev(const struct shm *s, const struct shm_view *v)
{
	struct maglev_target *t = calloc(v->n, sizeof(*t));
	uint32_t *want = calloc(v->m, sizeof(*want)), i, k = 0;

	REQUIRE(t && want);
	for (i = 0; i < v->n; i++)
		if (v->targets[i].active)
			t[k++] = (struct maglev_target){ v->targets[i].id, v->targets[i].weight };
	REQUIRE(maglev_build(want, v->m, s->seed, t, k) == 0);
	for (i = 0; i < v->m; i++)
		REQUIRE(k ? v->lookup[i] != SHM_NO_SLOT &&
			    v->targets[v->lookup[i]].id == t[want[i]].id :
			    v->lookup[i] == SHM_NO_SLOT);
	free(t);
	free(want);
}

/* Run activate then deactivate; `valid` says whether the table was. */
static void check_writers(struct shm *s, struct shm_view *v, bool valid,
			  const uint8_t *data, size_t size)
{
	uint32_t ids[2] = { 7, 1u + (size ? data[size - 1] : 0) }, bad = 0;
	uint32_t weight = size > 1 ? data[size - 2] % 4 : 0;
	uint64_t g = shm_generation(s);
	char why[WHY_MAX] = "";
	int r = shm_activate(s, ids, 2, weight, &bad, why);

	if (!valid || r < 0) {
		REQUIRE(r < 0);
		/* A header marked retired sends writers to the new object; a
		 * valid table's weights may leave a target without entries. */
		REQUIRE(errno == (valid ? ENOSPC : EBADMSG) ||
			(valid && errno == ERANGE && bad != 0) ||
			(errno == ESTALE && shm_retired(s)));
		check_why(why);
		REQUIRE(shm_generation(s) == g);
		return;
	}
	REQUIRE(shm_read(s, v, why) == 0);
	recheck_view(v);
	/* No change (both ids active, no new weight) publishes nothing: the
	 * lookup stays whatever valid table the input held. */
	if (shm_generation(s) != g)
		check_is_maglev(s, v);
	REQUIRE(shm_deactivate(s, ids, 1, &bad, why) == 0);
	REQUIRE(shm_read(s, v, why) == 0);
	check_is_maglev(s, v);
}

/* show and stats say yes exactly when shm_read() did. */
static void check_cli(bool valid)
{
	char *show[] = { "nfqlb", "show", "--json", "--shm", name, NULL };
	char *stats[] = { "nfqlb", "stats", "--json", "--shm", name, NULL };
	FILE *out = stdout, *err = stderr;

	stdout = devnull;
	stderr = devnull;
	REQUIRE(nfqlb_run(5, show) == (valid ? 0 : 1));
	REQUIRE(nfqlb_run(5, stats) == (valid ? 0 : 1));
	stdout = out;
	stderr = err;
}

/* ---- flow sets ----
 *
 * Input after the flags byte: the flow count n (2 bytes, little-endian,
 * written raw, so up to 65535), then per flow a record of 2 + sizeof(struct
 * flow) bytes (its slot, then the flow) XORed onto a valid baseline: an
 * input of zeros is a valid set of n <= BASE flows, and mutations damage
 * it bit by bit.  Records the input does not hold are the baseline's. */
#define BASE 8

static struct flow base_flow(unsigned int i)
{
	struct flow f;
	char why[WHY_MAX];

	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "f%u", i);
	snprintf(f.table, sizeof(f.table), "t%u", i % 3);
	f.prio = (int32_t)i - 3;
	f.protos = i % 2 ? FLOW_P_TCP | FLOW_P_SCTP : 0;
	f.udp_encap = i % 2 ? 9899 : 0;
	REQUIRE(flowtext_cidrs(i % 2 ? "10.0.0.0/8,192.0.2.1" : "2001:db8::/32,::/0",
			       f.dst, &f.ndst, why) == 0);
	REQUIRE(flowtext_ports("80,443,8000-8099", f.dport, &f.ndport, why) == 0);
	REQUIRE(flowset_check_flow(&f, why) == 0);
	return f;
}

static void xor_into(void *dst, const uint8_t *src, size_t len)
{
	uint8_t *d = dst;
	size_t i;

	for (i = 0; i < len; i++)
		d[i] ^= src[i];
}

/* A new, empty flow set under the name, buffer 0 (published) filled. */
static void write_flowset(const uint8_t *data, size_t size)
{
	const size_t rec = 2 + sizeof(struct flow);
	struct flowset_obj *o;
	struct flowset_buf *b;
	struct flowset *fs;
	uint32_t i, n;
	int fd;

	shm_unlink(path);
	fs = flowset_attach(name, true, true, NULL);
	REQUIRE(fs != NULL);
	flowset_detach(fs);
	fd = shm_open(path, O_RDWR, 0);
	REQUIRE(fd >= 0);
	o = mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	REQUIRE(o != MAP_FAILED);
	b = &o->buf[0];
	n = size >= 2 ? (uint32_t)data[0] | (uint32_t)data[1] << 8 : 0;
	b->n = n;
	for (i = 0; i < BASE; i++) {
		b->slot[i] = (uint16_t)(7 * i);
		b->flows[i] = base_flow(i);
	}
	for (i = 0; size >= 2 + (i + 1) * rec && i < FLOW_MAX; i++) {
		xor_into(&b->slot[i], data + 2 + i * rec, 2);
		xor_into(&b->flows[i], data + 4 + i * rec, sizeof(struct flow));
	}
	munmap(o, sizeof(*o));
	close(fd);
}

/* Two prefix lists say the same (their pad bytes aside). */
static bool same_cidrs(const struct flow_cidr *a, const struct flow_cidr *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (memcmp(a[i].w, b[i].w, sizeof(a[i].w)) || a[i].len != b[i].len ||
		    a[i].family != b[i].family)
			return false;
	return true;
}

/* The lists of a valid flow read back from their text unchanged. */
static void check_text(const struct flow *f)
{
	char text[FLOWTEXT_MAX], why[WHY_MAX];
	struct flow g;

	memset(&g, 0, sizeof(g));
	flowtext_fmt_cidrs(f->dst, f->ndst, text, sizeof(text));
	REQUIRE(f->ndst == 0 || flowtext_cidrs(text, g.dst, &g.ndst, why) == 0);
	flowtext_fmt_cidrs(f->src, f->nsrc, text, sizeof(text));
	REQUIRE(f->nsrc == 0 || flowtext_cidrs(text, g.src, &g.nsrc, why) == 0);
	flowtext_fmt_ports(f->dport, f->ndport, text, sizeof(text));
	REQUIRE(f->ndport == 0 || flowtext_ports(text, g.dport, &g.ndport, why) == 0);
	flowtext_fmt_protos(f->protos, text, sizeof(text));
	REQUIRE(f->protos == 0 || flowtext_protos(text, &g.protos, why) == 0);
	REQUIRE(g.ndst == f->ndst && g.nsrc == f->nsrc && g.ndport == f->ndport &&
		g.protos == f->protos);
	REQUIRE(same_cidrs(g.dst, f->dst, g.ndst));
	REQUIRE(same_cidrs(g.src, f->src, g.nsrc));
	REQUIRE(!memcmp(g.dport, f->dport, sizeof(*g.dport) * g.ndport));
}

/* The rules of a published flow set, written again from flowset.h. */
static void recheck_flows(const struct flowset_view *v)
{
	uint8_t seen[FLOW_MAX] = { 0 };
	uint32_t i;

	REQUIRE(v->n <= FLOW_MAX);
	for (i = 0; i < v->n; i++) {
		const struct flow *f = &v->flows[i];

		REQUIRE(memchr(f->name, 0, sizeof(f->name)) && f->name[0] && f->name[0] != '-');
		REQUIRE(strspn(f->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789._-") == strlen(f->name));
		REQUIRE(i == 0 || strcmp(v->flows[i - 1].name, f->name) < 0);
		REQUIRE(v->slot[i] < FLOW_MAX && !seen[v->slot[i]]++);
		REQUIRE(f->prio >= FLOW_PRIO_MIN && f->prio <= FLOW_PRIO_MAX);
		REQUIRE(!f->udp_encap || !f->protos || f->protos & FLOW_P_SCTP);
		check_text(f);
	}
}

static void flowset_writer(struct flowset *fs, bool valid, uint32_t n)
{
	struct flow f = base_flow(0);
	uint64_t g = flowset_generation(fs);
	struct flowset_view v;
	char why[WHY_MAX] = "";
	int r;

	snprintf(f.name, sizeof(f.name), "zz-new");
	r = flowset_set(fs, &f, why);
	if (!valid) {
		REQUIRE(r < 0 && errno == EBADMSG);
		check_why(why);
		REQUIRE(flowset_generation(fs) == g);
		return;
	}
	REQUIRE(r == 0 || (errno == ENOSPC && n == FLOW_MAX));
	REQUIRE(flowset_view_init(&v) == 0);
	REQUIRE(flowset_read(fs, &v, why) == 0);
	recheck_flows(&v);
	/* The input may hold a flow of that name already. */
	REQUIRE(r < 0 || (v.n >= n && v.n <= n + 1 && flowset_generation(fs) - g <= 1));
	flowset_view_free(&v);
}

static void fuzz_flowset(const uint8_t *data, size_t size, uint8_t flags)
{
	char *list[] = { "nfqlb", "flow", "list", "--json", "--flows", name, NULL };
	char why[WHY_MAX] = "";
	struct flowset_view v;
	struct flowset *fs;
	FILE *out = stdout, *err = stderr;
	bool valid;

	write_flowset(data, size);
	fs = flowset_attach(name, true, false, why);
	REQUIRE(fs != NULL);
	REQUIRE(flowset_view_init(&v) == 0);
	valid = flowset_read(fs, &v, why) == 0;
	if (valid)
		recheck_flows(&v);
	else
		REQUIRE(errno == EBADMSG && v.n == 0);
	if (!valid)
		check_why(why);
	if (flags & F_CLI) {
		stdout = devnull;
		stderr = devnull;
		REQUIRE(nfqlb_run(6, list) == (valid ? 0 : 1));
		stdout = out;
		stderr = err;
	}
	if (flags & F_WRITE)
		flowset_writer(fs, valid, v.n);
	flowset_view_free(&v);
	flowset_detach(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags = size ? data[0] : 0;
	char why[WHY_MAX] = "";
	struct shm_view v;
	struct shm *s;
	bool valid;

	if (flags & F_FLOWS) {
		fuzz_flowset(data + 1, size - 1, flags);
		return 0;
	}
	write_object(data + !!size, size - !!size, flags & F_PAD);
	s = shm_attach(name, flags & F_WRITE, why);
	if (!s) {
		REQUIRE(errno == EBADMSG || errno == EPROTONOSUPPORT);
		check_why(why);
		return 0;
	}
	check_header(s);
	REQUIRE(shm_view_init(&v, s->m, s->n) == 0);
	valid = shm_read(s, &v, why) == 0;
	if (valid)
		recheck_view(&v);
	else
		REQUIRE(errno == EBADMSG);
	if (!valid)
		check_why(why);
	if (flags & F_CLI)
		check_cli(valid);
	if (flags & F_WRITE)
		check_writers(s, &v, valid, data, size);
	shm_view_free(&v);
	shm_detach(s);
	return 0;
}
