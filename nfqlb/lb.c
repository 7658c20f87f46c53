/* lb.c: `nfqlb lb`, the NFQUEUE worker: one thread per queue. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <net/if.h>

#include "nfqlb/cli.h"
#include "nfqlb/lb.h"
#include "nfqlb/queue.h"
#include "nfqlb/shed.h"
#include "nfqlb/table.h"
#include "nfqlb/verify.h"

#define QUEUE_MAX SHM_WORKERS
#define QLENGTH_DEFAULT 4096
#define RECV_TIMEOUT_MS 250
#define RT_PRIORITY_MAX 99
#define SHED_TICK_NS 10000000	/* the shedding controller runs every 10 ms */
#define PROC_QUEUES "/proc/net/netfilter/nfnetlink_queue"

static const struct opt lb_opts[] = {
	OPT_SHM,
	{ "queue", "N|A:B", "queue number, or a range with one thread each (default 0)" },
	{ "qlength", "L", "most packets the kernel holds per queue (default 4096)" },
	{ "no-target", "drop|accept", "verdict when no target is active (default drop)" },
	{ "fail-open", NULL, "let the kernel accept packets unmarked when a queue is full" },
	{ "cpu", "LIST", "pin the queue threads, in order, to these CPUs (e.g. 1 or 0,1 or 0-3)" },
	{ "rt-priority", "P", "run the queue threads SCHED_FIFO at priority P (default 0: normal)" },
	{ "shed", "IFNAME", "under overload, drop packets arriving on IFNAME early (XDP or tc)" },
	{ "shed-mode", "MODE", "auto, xdp or tc: where the shedding program runs (default auto)" },
	{ NULL, NULL, NULL },
};

struct lb_conf {
	const char *name;
	uint16_t qfirst, qlast;
	uint32_t qlength;
	uint32_t no_target;	/* NF_DROP or NF_ACCEPT */
	bool fail_open;
	uint32_t rt_priority;	/* SCHED_FIFO priority; 0: the normal scheduler */
	unsigned int ncpu;	/* CPUs in --cpu; 0 leaves the threads unpinned */
	int cpu[QUEUE_MAX];
	const char *shed;	/* --shed: the interface, or NULL */
	enum shed_mode shed_mode;
};

struct worker {
	pthread_t thread;
	bool started;
	const struct lb_conf *conf;
	uint16_t queue;
	struct shm *shm;
	struct shm_worker *w;
	struct shm_view view, spare;
	struct queue *q;
	bool rt;		/* runs with SCHED_FIFO */
	uint64_t bad_gen;	/* an invalid generation, already logged */
	bool gone_logged;	/* "table deleted" already logged */
	uint64_t errors_logged;
	time_t next_house;
	uint64_t verified;	/* tables checked by NFQLB_DEBUG_VERIFY */
};

static int stopping;	/* atomic */
static int failed;	/* atomic */
static bool debug_verify;	/* NFQLB_DEBUG_VERIFY is set */

static void lb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void lb_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "nfqlb: lb: %s\n", line);
}

/*
 * The per-packet path, in three passes over the batch so that the CPU
 * overlaps the packets' independent work (each hash is a chain of
 * multiplications): classify all, hash all, then look up all.  No locks,
 * atomics or system calls.
 */
static inline __attribute__((always_inline)) void
hash_all(const struct pkt_key *key, unsigned int n, enum hash_mode mode,
	 uint32_t seed, uint32_t m, struct lb_result *res)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		res[i].slot = hash_reduce(hash_flow(key[i].w, mode, seed), m);
}

void lb_lookup_batch(const struct shm_view *v, enum hash_mode mode, uint32_t seed,
		     const struct queue_pkt *pkts, unsigned int n,
		     struct lb_result *res)
{
	struct pkt_key key[QUEUE_BATCH];
	unsigned int i;

	for (i = 0; i < n; i++)
		res[i].kind = (uint8_t)pkt_classify(pkts[i].data, pkts[i].len, &key[i]);
	/* A constant mode lets the compiler drop the per-word tests. */
	if (mode == HASH_5TUPLE)
		hash_all(key, n, HASH_5TUPLE, seed, v->m, res);
	else if (mode == HASH_ADDR)
		hash_all(key, n, HASH_ADDR, seed, v->m, res);
	else
		hash_all(key, n, HASH_SRC, seed, v->m, res);
	for (i = 0; i < n; i++)
		res[i].slot = res[i].kind == PKT_MALFORMED ? SHM_NO_SLOT :
			      v->lookup[res[i].slot];
}

/* Count one packet and batch its verdict. */
static void decide(struct worker *wk, const struct queue_pkt *p,
		   const struct lb_result *r)
{
	struct shm_worker *w = wk->w;

	shm_count(&w->cnt[r->kind], 1);
	if (r->kind == PKT_MALFORMED) {
		shm_count(&w->cnt[LB_CNT_DROP], 1);
		queue_verdict(wk->q, p->id, NF_DROP, 0);
		return;
	}
	if (r->slot == SHM_NO_SLOT) {
		shm_count(&w->cnt[LB_CNT_NO_TARGET], 1);
		shm_count(&w->cnt[wk->conf->no_target == NF_DROP ?
				  LB_CNT_DROP : LB_CNT_ACCEPT], 1);
		queue_verdict(wk->q, p->id, wk->conf->no_target, 0);
		return;
	}
	shm_count(&w->target[r->slot], 1);
	shm_count(&w->cnt[LB_CNT_ACCEPT], 1);
	queue_verdict(wk->q, p->id, NF_ACCEPT, wk->view.targets[r->slot].id);
}

static void handle_batch(struct worker *wk, const struct queue_pkt *pkts, unsigned int n)
{
	struct lb_result res[QUEUE_BATCH];
	unsigned int i;

	lb_lookup_batch(&wk->view, wk->shm->mode, wk->shm->seed, pkts, n, res);
	for (i = 0; i < n; i++)
		decide(wk, &pkts[i], &res[i]);
}

/* NFQLB_DEBUG_VERIFY: an adopted table that is not its own Maglev build is
 * a bug in the shared-memory protocol; stop hard, so no test can miss it. */
static void verify_adopted(struct worker *wk)
{
	char why[SHM_WHY_MAX] = "";
	int r = verify_view(&wk->view, wk->shm->seed, why);

	if (r == 0) {
		wk->verified++;
		return;
	}
	lb_log("queue %u: debug verify: %s", wk->queue, r < 0 ? strerror(errno) : why);
	if (r > 0)
		abort();
}

/* Once per batch: adopt a newly published table, if it is valid. */
static void refresh(struct worker *wk)
{
	uint64_t g = shm_generation(wk->shm);
	char why[SHM_WHY_MAX];
	struct shm_view t;

	/* A lost handle (the object was truncated) reads zeros: housekeeping
	 * reports it once and reattaches. */
	if (g == wk->view.generation || g == wk->bad_gen || shm_lost(wk->shm))
		return;
	if (shm_read(wk->shm, &wk->spare, why) < 0) {
		if (errno == EAGAIN || errno == EIO)
			return;
		wk->bad_gen = g;
		lb_log("queue %u: table generation %llu is invalid (%s); keeping generation %llu",
		       wk->queue, (unsigned long long)g, why,
		       (unsigned long long)wk->view.generation);
		return;
	}
	t = wk->view;
	wk->view = wk->spare;
	wk->spare = t;
	if (debug_verify)
		verify_adopted(wk);
}

/* One queue's row of the kernel's queue table, in this namespace. */
struct proc_queue {
	unsigned long long total, dropped, udropped;
};

/* Returns 0 with the row when the queue is bound (by anyone), else -1. */
static int proc_queue(uint16_t queue, struct proc_queue *row)
{
	unsigned int num, portid, mode, range;
	char line[256];
	int ret = -1;
	FILE *f = fopen(PROC_QUEUES, "r");

	if (!f)
		return -1;
	while (ret < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %llu %u %u %llu %llu", &num, &portid,
			   &row->total, &mode, &range, &row->dropped,
			   &row->udropped) == 7 && num == queue)
			ret = 0;
	fclose(f);
	return ret;
}

static void read_proc(struct worker *wk)
{
	struct proc_queue row;

	if (proc_queue(wk->queue, &row) < 0)
		return;
	__atomic_store_n(&wk->w->q_total, row.total, __ATOMIC_RELAXED);
	__atomic_store_n(&wk->w->q_dropped, row.dropped, __ATOMIC_RELAXED);
	__atomic_store_n(&wk->w->u_dropped, row.udropped, __ATOMIC_RELAXED);
}

static int worker_attach(struct worker *wk, struct shm *s, char *why)
{
	struct shm_worker *w = shm_worker_claim(s, gettid(), wk->queue);
	struct shm_view v = { 0 }, spare = { 0 };

	if (!w) {
		snprintf(why, SHM_WHY_MAX, "all %u counter sets are in use", SHM_WORKERS);
		return -1;
	}
	if (shm_view_init(&v, s->m, s->n) < 0 || shm_view_init(&spare, s->m, s->n) < 0) {
		snprintf(why, SHM_WHY_MAX, "%s", strerror(errno));
		goto fail;
	}
	if (shm_read(s, &v, why) < 0)
		goto fail;
	wk->shm = s;
	wk->w = w;
	wk->view = v;
	wk->spare = spare;
	return 0;
fail:
	shm_view_free(&v);
	shm_view_free(&spare);
	shm_worker_release(w);
	return -1;
}

static void worker_detach(struct worker *wk)
{
	if (wk->w)
		shm_worker_release(wk->w);
	shm_view_free(&wk->view);
	shm_view_free(&wk->spare);
	shm_detach(wk->shm);
	wk->w = NULL;
	wk->shm = NULL;
}

/* The table was replaced (init --force) or deleted: follow the name. */
static void reattach(struct worker *wk)
{
	char why[SHM_WHY_MAX] = "";
	struct worker next = *wk;
	struct shm *s = shm_attach(wk->conf->name, true, why);

	if (s && worker_attach(&next, s, why) == 0) {
		worker_detach(wk);
		*wk = next;
		wk->bad_gen = 0;
		wk->gone_logged = false;
		lb_log("queue %u: table \"%s\" was replaced; using the new one (generation %llu)",
		       wk->queue, wk->conf->name, (unsigned long long)wk->view.generation);
		return;
	}
	shm_detach(s);
	if (!wk->gone_logged)
		lb_log("queue %u: table \"%s\" was deleted or replaced by an unusable one (%s); keeping the last table",
		       wk->queue, wk->conf->name, why);
	wk->gone_logged = true;
}

static void housekeeping(struct worker *wk)
{
	struct timespec now;
	uint64_t errors;
	int last;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (now.tv_sec < wk->next_house)
		return;
	wk->next_house = now.tv_sec + 1;
	if (shm_retired(wk->shm) || shm_check_size(wk->shm, NULL) < 0)
		reattach(wk);
	read_proc(wk);
	errors = queue_errors(wk->q, &last);
	if (errors > wk->errors_logged) {
		lb_log("queue %u: the kernel rejected %llu messages (last: %s)", wk->queue,
		       (unsigned long long)(errors - wk->errors_logged), strerror(last));
		wk->errors_logged = errors;
	}
}

static void fatal(struct worker *wk, const char *what)
{
	lb_log("queue %u: %s: %s", wk->queue, what, strerror(errno));
	__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
	kill(getpid(), SIGTERM);
}

static void *worker_main(void *arg)
{
	struct queue_pkt pkts[QUEUE_BATCH];
	struct worker *wk = arg;
	int n;

	while (!__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
		n = queue_recv(wk->q, pkts, QUEUE_BATCH);
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			fatal(wk, "receive");
			break;
		}
		if (n > 0) {
			refresh(wk);
			handle_batch(wk, pkts, (unsigned int)n);
			if (queue_flush(wk->q) < 0 && errno != EINTR)
				lb_log("queue %u: verdicts: %s", wk->queue, strerror(errno));
		}
		/* A full batch means more is waiting: SCHED_FIFO does not share
		 * the CPU between threads of one priority unless they yield. */
		if (wk->rt && n == QUEUE_BATCH)
			sched_yield();
		housekeeping(wk);
	}
	if (debug_verify)
		lb_log("queue %u: debug verify: %llu tables checked, each equal to its own build",
		       wk->queue, (unsigned long long)wk->verified);
	return NULL;
}

static int parse_queues(const char *v, struct lb_conf *c)
{
	uint32_t a, b;
	char *colon, buf[32];

	if (!v)
		return 0;
	if (strlen(v) >= sizeof(buf))
		return -1;
	strcpy(buf, v);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (opt_u32(buf, 0, 65535, &a) < 0 ||
	    opt_u32(colon ? colon + 1 : buf, 0, 65535, &b) < 0 ||
	    b < a || b - a >= QUEUE_MAX)
		return -1;
	c->qfirst = (uint16_t)a;
	c->qlast = (uint16_t)b;
	return 0;
}

/* A CPU number or range "N" / "N-M" of len bytes at s, appended to cpu.
 * Returns 0, -1 for bad syntax, -2 when cpu[] is full. */
static int parse_cpu_range(const char *s, size_t len, int *cpu, unsigned int max,
			   unsigned int *n)
{
	uint32_t a, b;
	char buf[32], *dash;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (opt_u32(buf, 0, CPU_SETSIZE - 1, &a) < 0 ||
	    opt_u32(dash ? dash + 1 : buf, 0, CPU_SETSIZE - 1, &b) < 0 || b < a)
		return -1;
	for (; a <= b; a++) {
		if (*n == max)
			return -2;
		cpu[(*n)++] = (int)a;
	}
	return 0;
}

/* Every CPU in cpu[] is in this process's affinity mask. */
static int cpus_allowed(const int *cpu, unsigned int n, char *why)
{
	cpu_set_t allowed;
	unsigned int i;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		CPU_ZERO(&allowed);
	for (i = 0; i < n; i++)
		if (!CPU_ISSET(cpu[i], &allowed)) {
			snprintf(why, LB_WHY_MAX, "CPU %d is not available to this process",
				 cpu[i]);
			errno = EINVAL;
			return -1;
		}
	return 0;
}

int lb_parse_cpus(const char *s, int *cpu, unsigned int max, char *why)
{
	unsigned int n = 0;
	const char *end;
	int r;

	for (;; s = end + 1) {
		end = strchrnul(s, ',');
		r = parse_cpu_range(s, (size_t)(end - s), cpu, max, &n);
		if (r == -2) {
			snprintf(why, LB_WHY_MAX, "more CPUs than queues (%u)", max);
			errno = E2BIG;
			return -1;
		}
		if (r < 0) {
			snprintf(why, LB_WHY_MAX, "want CPU numbers and ranges like 0,2-3");
			errno = EINVAL;
			return -1;
		}
		if (*end == '\0')
			break;
	}
	return cpus_allowed(cpu, n, why) < 0 ? -1 : (int)n;
}

static int parse_sched(const struct cmd *cmd, const struct optval *ov,
		       struct lb_conf *c)
{
	const char *v = opt_get(cmd, ov, "rt-priority");
	char why[LB_WHY_MAX];
	int n;

	if (v && opt_u32(v, 0, RT_PRIORITY_MAX, &c->rt_priority) < 0)
		return usage_error(cmd, "bad rt-priority '%s': want 0..%u", v, RT_PRIORITY_MAX);
	v = opt_get(cmd, ov, "cpu");
	if (!v)
		return NFQLB_OK;
	n = lb_parse_cpus(v, c->cpu, (unsigned int)(c->qlast - c->qfirst) + 1, why);
	if (n < 0)
		return usage_error(cmd, "bad cpu list '%s': %s", v, why);
	c->ncpu = (unsigned int)n;
	return NFQLB_OK;
}

static int lb_parse(const struct cmd *cmd, const struct optval *ov, int argc,
		    struct lb_conf *c)
{
	const char *v;

	*c = (struct lb_conf){ .name = opt_shm_name(cmd, ov), .qlength = QLENGTH_DEFAULT,
			       .no_target = NF_DROP,
			       .fail_open = opt_get(cmd, ov, "fail-open") != NULL };
	if (argc > ov->first)
		return usage_error(cmd, "unexpected argument");
	v = opt_get(cmd, ov, "queue");
	if (parse_queues(v, c) < 0)
		return usage_error(cmd, "bad queue '%s': want N or A:B within 0..65535, at most %u queues",
				   v, QUEUE_MAX);
	v = opt_get(cmd, ov, "qlength");
	if (v && opt_u32(v, 1, 1u << 24, &c->qlength) < 0)
		return usage_error(cmd, "bad qlength '%s': want 1..16777216", v);
	c->shed = opt_get(cmd, ov, "shed");
	if (c->shed && (!*c->shed || strlen(c->shed) >= IF_NAMESIZE))
		return usage_error(cmd, "bad shed interface '%s'", c->shed);
	v = opt_get(cmd, ov, "shed-mode");
	if (v && !c->shed)
		return usage_error(cmd, "--shed-mode needs --shed");
	if (v && shed_mode_parse(v) < 0)
		return usage_error(cmd, "bad shed-mode '%s': want auto, xdp or tc", v);
	c->shed_mode = v ? (enum shed_mode)shed_mode_parse(v) : SHED_AUTO;
	v = opt_get(cmd, ov, "no-target");
	if (v && strcmp(v, "accept") == 0)
		c->no_target = NF_ACCEPT;
	else if (v && strcmp(v, "drop") != 0)
		return usage_error(cmd, "bad no-target '%s': want drop or accept", v);
	return parse_sched(cmd, ov, c);
}

/* The kernel answers EPERM both without CAP_NET_ADMIN and when another
 * socket holds the queue: tell which. */
static const char *queue_hint(int err, uint16_t queue)
{
	struct proc_queue row;

	if (err == EPERM)
		return proc_queue(queue, &row) == 0 ?
		       " (another process is bound to it)" : " (needs CAP_NET_ADMIN)";
	return "";
}

static int worker_open(const struct cmd *cmd, struct worker *wk,
		       const struct lb_conf *c, uint16_t queue)
{
	struct queue_conf qc = { queue, c->qlength, PKT_COPY_RANGE, c->fail_open,
				 RECV_TIMEOUT_MS };
	char why[SHM_WHY_MAX] = "";
	struct shm *s;

	wk->conf = c;
	wk->queue = queue;
	s = table_open(cmd, c->name, true);
	if (!s)
		return -1;
	/* Bind first: a counter set marked running means packets flow. */
	wk->q = queue_open(&qc, why);
	if (!wk->q) {
		cmd_error(cmd, "queue %u: %s%s", queue, why, queue_hint(errno, queue));
		shm_detach(s);
		return -1;
	}
	if (worker_attach(wk, s, why) < 0) {
		shm_detach(s);
		cmd_error(cmd, "table \"%s\": %s", c->name, why);
		return -1;
	}
	return 0;
}

static void log_start(const struct lb_conf *c, const struct worker *wk)
{
	uint32_t i, active = 0;

	for (i = 0; i < wk->view.n; i++)
		active += wk->view.targets[i].active;
	lb_log("table \"%s\": M %u, N %u, hash %s, seed %u, generation %llu, %u active targets",
	       c->name, wk->shm->m, wk->shm->n, hash_mode_name(wk->shm->mode),
	       wk->shm->seed, (unsigned long long)wk->view.generation, active);
	lb_log("queues %u..%u, qlength %u, copy %u bytes, batch %u, no-target %s, fail-open %s",
	       c->qfirst, c->qlast, c->qlength, PKT_COPY_RANGE, QUEUE_BATCH,
	       c->no_target == NF_DROP ? "drop" : "accept", c->fail_open ? "on" : "off");
}

/* Where and how a queue thread runs, set before it starts. */
static void thread_attr(pthread_attr_t *a, const struct lb_conf *c,
			unsigned int i, bool rt)
{
	struct sched_param sp = { .sched_priority = (int)c->rt_priority };
	cpu_set_t set;

	pthread_attr_init(a);
	if (c->ncpu) {
		CPU_ZERO(&set);
		CPU_SET(c->cpu[i % c->ncpu], &set);
		pthread_attr_setaffinity_np(a, sizeof(set), &set);
	}
	if (rt) {
		pthread_attr_setinheritsched(a, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(a, SCHED_FIFO);
		pthread_attr_setschedparam(a, &sp);
	}
}

static void log_thread(const struct lb_conf *c, const struct worker *wk, unsigned int i)
{
	char cpu[16] = "any";

	if (c->ncpu)
		snprintf(cpu, sizeof(cpu), "%d", c->cpu[i % c->ncpu]);
	if (wk->rt)
		lb_log("queue %u: CPU %s, SCHED_FIFO priority %u", wk->queue, cpu, c->rt_priority);
	else
		lb_log("queue %u: CPU %s, normal scheduler", wk->queue, cpu);
}

/* Start queue thread i, pinned and with the priority asked for. */
static int start_worker(struct worker *wk, const struct lb_conf *c, unsigned int i)
{
	pthread_attr_t a;
	int err;

	wk->rt = c->rt_priority != 0;
	thread_attr(&a, c, i, wk->rt);
	err = pthread_create(&wk->thread, &a, worker_main, wk);
	pthread_attr_destroy(&a);
	if (err == 0)
		log_thread(c, wk, i);
	errno = err;
	return err ? -1 : 0;
}

static void on_wakeup(int sig)
{
	(void)sig;	/* only interrupts a blocked recvmmsg() */
}

static void block_signals(sigset_t *set)
{
	struct sigaction sa = { .sa_handler = on_wakeup };

	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
}

/* The shedding controller, run by the main thread (shed.h). */
struct shedder {
	struct shed *shed;
	uint32_t share;		/* of 2^32 */
	uint64_t drops;		/* our queues' drops at the last tick */
	uint32_t ids;		/* the sum of their last packet ids then */
	double sum;		/* of the shares since the last log line, in % */
	unsigned int ticks;	/* since the last log line */
	bool shedding;		/* as of the last log line */
};

/* Our queues, in one read: the fullest one's backlog, and the sums of
 * their drops and of their last packet ids (which count the packets they
 * took, modulo 2^32). */
static void proc_sum(const struct lb_conf *c, uint64_t *waiting, uint64_t *drops,
		     uint32_t *ids)
{
	unsigned long long total, dropped, udropped;
	unsigned int num, portid, mode, range, id;
	char line[256];
	FILE *f = fopen(PROC_QUEUES, "r");

	*waiting = 0;
	*drops = 0;
	*ids = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %llu %u %u %llu %llu %u", &num, &portid, &total,
			   &mode, &range, &dropped, &udropped, &id) == 8 &&
		    num >= c->qfirst && num <= c->qlast) {
			*waiting = total > *waiting ? total : *waiting;
			*drops += dropped + udropped;
			*ids += id;
		}
	fclose(f);
}

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

static void shed_tick(struct shedder *sh, const struct lb_conf *c)
{
	struct shed_sample s = { .qlength = c->qlength };
	uint64_t drops;
	uint32_t ids, next;

	proc_sum(c, &s.waiting, &drops, &ids);
	s.dropped = drops - sh->drops;
	s.queued = (uint32_t)(ids - sh->ids);
	sh->drops = drops;
	sh->ids = ids;
	next = shed_next(sh->share, &s);
	if (next != sh->share && shed_set(sh->shed, next) == 0)
		sh->share = next;
	shed_log(sh);
}

/* Wait for SIGINT or SIGTERM, shedding meanwhile if asked to. */
static int wait_signal(const sigset_t *set, struct shedder *sh, const struct lb_conf *c)
{
	struct timespec tick = { 0, SHED_TICK_NS };
	int sig = 0;

	if (!sh->shed) {
		sigwait(set, &sig);
		return sig;
	}
	while ((sig = sigtimedwait(set, NULL, &tick)) < 0)
		shed_tick(sh, c);
	return sig;
}

static void run_workers(struct worker *wk, const struct lb_conf *c, unsigned int n,
			const sigset_t *set, struct shedder *sh)
{
	unsigned int i;
	int sig = 0;

	for (i = 0; i < n; i++) {
		if (start_worker(&wk[i], c, i) < 0) {
			fatal(&wk[i], wk[i].rt ? "thread with SCHED_FIFO" : "thread");
			break;
		}
		wk[i].started = true;
	}
	sig = wait_signal(set, sh, c);
	if (!__atomic_load_n(&failed, __ATOMIC_RELAXED))
		lb_log("stopping on %s", strsignal(sig));
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++)
		if (wk[i].started)
			pthread_kill(wk[i].thread, SIGUSR1);
	for (i = 0; i < n; i++)
		if (wk[i].started)
			pthread_join(wk[i].thread, NULL);
}

static int shed_start(const struct cmd *cmd, const struct lb_conf *c, struct shedder *sh)
{
	char why[SHED_WHY_MAX];
	bool tc;

	sh->shed = shed_open(c->shed, c->shed_mode, &tc, why);
	if (!sh->shed)
		return cmd_error(cmd, "shed on %s: %s", c->shed, why);
	lb_log("shedding on %s under overload (%s)", c->shed,
	       tc ? "tc ingress" : "XDP in the driver");
	return NFQLB_OK;
}

static int do_lb(const struct cmd *cmd, const struct optval *ov, int argc,
		 char **argv)
{
	struct shedder sh = { 0 };
	struct worker *wk;
	struct lb_conf c;
	unsigned int i, n;
	sigset_t set;
	int r;

	(void)argv;
	if ((r = lb_parse(cmd, ov, argc, &c)))
		return r;
	__atomic_store_n(&stopping, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&failed, 0, __ATOMIC_RELAXED);
	debug_verify = getenv("NFQLB_DEBUG_VERIFY") && *getenv("NFQLB_DEBUG_VERIFY");
	block_signals(&set);
	n = (unsigned int)(c.qlast - c.qfirst) + 1;
	wk = calloc(n, sizeof(*wk));
	if (!wk)
		return cmd_error(cmd, "%s", strerror(errno));
	for (i = 0; i < n && r == NFQLB_OK; i++)
		if (worker_open(cmd, &wk[i], &c, (uint16_t)(c.qfirst + i)) < 0)
			r = NFQLB_FAIL;
	if (r == NFQLB_OK && c.shed)
		r = shed_start(cmd, &c, &sh);
	if (r == NFQLB_OK) {
		log_start(&c, &wk[0]);
		run_workers(wk, &c, n, &set, &sh);
	}
	shed_close(sh.shed);
	for (i = 0; i < n; i++) {
		queue_close(wk[i].q);
		worker_detach(&wk[i]);
	}
	free(wk);
	return __atomic_load_n(&failed, __ATOMIC_RELAXED) ? NFQLB_FAIL : r;
}

const struct cmd cmd_lb = {
	"lb", do_lb, "run the NFQUEUE worker (until SIGINT or SIGTERM)", NULL, lb_opts,
};
