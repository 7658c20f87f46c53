/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lbcmd.c: `nfqlb lb`, the NFQUEUE worker: one thread per queue (worker.c),
 * the main thread waiting for signals and running the shedding controller. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>

#include "nfqlb/cli.h"
#include "nfqlb/fpwork.h"
#include "nfqlb/lbconf.h"
#include "nfqlb/log.h"
#include "nfqlb/pkt.h"
#include "nfqlb/procq.h"
#include "nfqlb/queue.h"
#include "nfqlb/shedctl.h"
#include "nfqlb/table.h"
#include "nfqlb/worker.h"
#include "shm/trace.h"

#define RECV_TIMEOUT_MS 250

/* The kernel answers EPERM both without CAP_NET_ADMIN and when another
 * socket holds the queue: tell which, and who holds it. */
static const char *queue_hint(int err, uint16_t queue)
{
	static char hint[128];
	struct procq_row row;
	char comm[32];
	int pid;

	if (err != EPERM)
		return "";
	if (procq_find(queue, &row) < 0)
		return " (needs CAP_NET_ADMIN)";
	pid = procq_holder(row.portid, comm, sizeof(comm));
	if (pid > 0)
		snprintf(hint, sizeof(hint), " (another process is bound to it: PID %d, %s)",
			 pid, comm[0] ? comm : "?");
	else
		snprintf(hint, sizeof(hint), " (another process is bound to it: netlink port %u)",
			 row.portid);
	return hint;
}

/* A seed nobody outside can guess, so that no choice of fragment ids
 * makes the tracker's hash chains long. */
static uint32_t frag_seed(void)
{
	uint32_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
		s = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	return s;
}

/* With flows each queue thread keeps every table its flows name open (a
 * descriptor each): lift the soft limit on open files to the hard one. */
static void files_limit(const struct lb_conf *c)
{
	struct rlimit r;

	if (!c->flows || getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur >= r.rlim_max)
		return;
	r.rlim_cur = r.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &r) < 0)
		lb_log("cannot raise the open files limit: %s", strerror(errno));
}

/* The state the worker serves: its table, or its flow set. */
static int worker_state(const struct cmd *cmd, struct worker *wk,
			const struct lb_conf *c, struct shm *s)
{
	char why[WHY_MAX] = "";

	if (c->flows) {
		if (worker_attach_flows(wk, why) == 0)
			return 0;
		cmd_error(cmd, "flow set \"%s\": %s", c->flows, why);
		return -1;
	}
	if (worker_attach(wk, s, why) == 0)
		return 0;
	shm_detach(s);
	cmd_error(cmd, "table \"%s\": %s", c->name, why);
	return -1;
}

static int worker_open(const struct cmd *cmd, struct worker *wk,
		       const struct lb_conf *c, uint16_t queue)
{
	/* The queue holds as many packets as the fragment tracker does. */
	struct queue_conf qc = { queue, c->qlength, PKT_COPY_RANGE, c->fail_open,
				 RECV_TIMEOUT_MS, c->frag_max };
	char why[WHY_MAX] = "";
	struct shm *s = NULL;

	wk->conf = c;
	wk->queue = queue;
	wk->frag = frag_new(c->frag_max, c->frag_timeout, frag_seed());
	if (!wk->frag) {
		cmd_error(cmd, "queue %u: fragment tracker: %s", queue, strerror(errno));
		return -1;
	}
	if (!c->flows && !(s = table_open(cmd, c->name, true)))
		return -1;
	/* Bind first: a counter set marked running means packets flow. */
	wk->q = queue_open(&qc, why);
	if (!wk->q) {
		cmd_error(cmd, "queue %u: %s%s", queue, why, queue_hint(errno, queue));
		shm_detach(s);
		return -1;
	}
	return worker_state(cmd, wk, c, s);
}

static void log_start(const struct lb_conf *c, const struct worker *wk)
{
	const struct wtable *t = &wk->table;

	if (c->flows)
		wflows_log_start(&wk->fl);
	else {
		lb_log("table \"%s\": M %u, N %u, hash %s, seed %u, generation %llu, %u active targets",
		       c->name, t->shm->m, t->shm->n, hash_mode_name(t->shm->mode),
		       t->shm->seed, (unsigned long long)t->view.generation, t->active);
		if (!t->active)
			lb_log("WARNING: table \"%s\" has no active target: every packet gets the "
			       "no-target verdict (%s) until one is activated", c->name,
			       c->no_target.text);
	}
	lb_log("queues %u..%u, qlength %u, copy %u bytes, batch %u, no-target %s%s%s, fail-open %s",
	       c->qfirst, c->qlast, c->qlength, PKT_COPY_RANGE, QUEUE_BATCH,
	       c->no_target.text, c->flows ? ", no-flow " : "", c->flows ? c->no_flow.text : "",
	       c->fail_open ? "on" : "off");
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
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
}


/* Wait for one signal of the set, shedding meanwhile if asked to. */
static int wait_one(const sigset_t *set, struct shedder *sh, const struct lb_conf *c)
{
	struct timespec tick = { 0, SHED_TICK_NS };
	int sig = 0;

	if (!sh->shed) {
		sigwait(set, &sig);
		return sig;
	}
	while ((sig = sigtimedwait(set, NULL, &tick)) < 0)
		shedctl_tick(sh, c);
	return sig;
}

/* Wait for SIGINT or SIGTERM.  SIGHUP, which would end the process
 * silently (exit 129), is logged and ignored. */
static int wait_signal(const sigset_t *set, struct shedder *sh, const struct lb_conf *c)
{
	int sig;

	while ((sig = wait_one(set, sh, c)) == SIGHUP)
		lb_log("SIGHUP ignored (nfqlb has no configuration to reload)");
	return sig;
}

static void run_workers(struct worker *wk, const struct lb_conf *c, unsigned int n,
			const sigset_t *set, struct shedder *sh)
{
	unsigned int i;
	int sig = 0;

	for (i = 0; i < n; i++) {
		if (start_worker(&wk[i], c, i) < 0) {
			worker_fatal(&wk[i], wk[i].rt ? "thread with SCHED_FIFO" : "thread");
			break;
		}
		wk[i].started = true;
	}
	sig = wait_signal(set, sh, c);
	if (!__atomic_load_n(&worker_failed, __ATOMIC_RELAXED))
		lb_log("stopping on %s", strsignal(sig));
	__atomic_store_n(&worker_stopping, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++)
		if (wk[i].started)
			pthread_kill(wk[i].thread, SIGUSR1);
	for (i = 0; i < n; i++)
		if (wk[i].started)
			pthread_join(wk[i].thread, NULL);
}

/* The process's trace ring (shm/trace.h), after sweeping the rings of
 * dead workers.  Tracing is a debugging aid: without a ring the worker
 * runs on, and says so. */
static struct trace *trace_start(const struct lb_conf *c, struct worker *wk,
				 unsigned int n)
{
	char why[WHY_MAX] = "";
	struct trace *t;
	unsigned int i;

	trace_sweep(NULL);
	t = trace_create(getpid(), c->flows ? TRACE_SERVES_FLOWS : TRACE_SERVES_TABLE,
			 c->flows ? c->flows : c->name, TRACE_RECORDS, why);
	if (!t)
		lb_log("trace ring: %s; nfqlb trace will not see this worker", why);
	for (i = 0; i < n; i++)
		wk[i].trace = t;
	return t;
}

static int do_lb(const struct cmd *cmd, const struct optval *ov, int argc,
		 char **argv)
{
	struct shedder sh = { 0 };
	struct fpwork fpw = { 0 };
	struct trace *ring = NULL;
	struct worker *wk;
	struct lb_conf c;
	unsigned int i, n;
	sigset_t set;
	int r;

	if ((r = lb_conf_parse(cmd, ov, argc, argv, &c)))
		return r;
	__atomic_store_n(&worker_stopping, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&worker_failed, 0, __ATOMIC_RELAXED);
	wtable_debug_verify = getenv("NFQLB_DEBUG_VERIFY") && *getenv("NFQLB_DEBUG_VERIFY");
	block_signals(&set);
	files_limit(&c);
	n = (unsigned int)(c.qlast - c.qfirst) + 1;
	wk = calloc(n, sizeof(*wk));
	if (!wk)
		return cmd_error(cmd, "%s", strerror(errno));
	/* The fast path first: when a queue thread's counter set says it
	 * runs, the program marks with the current table.  And before the
	 * shedding program: at tc ingress it runs first, and shedding passes
	 * what it marked. */
	if (c.nbpf)
		r = fpwork_start(cmd, &fpw, &c);
	for (i = 0; i < n && r == NFQLB_OK; i++)
		if (worker_open(cmd, &wk[i], &c, (uint16_t)(c.qfirst + i)) < 0)
			r = NFQLB_FAIL;
	if (r == NFQLB_OK && c.shed)
		r = shedctl_start(cmd, &sh, &c);
	if (r == NFQLB_OK) {
		log_start(&c, &wk[0]);
		ring = trace_start(&c, wk, n);
		run_workers(wk, &c, n, &set, &sh);
	}
	shedctl_stop(&sh, &c);
	fpwork_stop(&fpw);
	trace_destroy(ring);
	for (i = 0; i < n; i++) {
		queue_close(wk[i].q);
		frag_free(wk[i].frag);
		worker_detach(&wk[i]);
	}
	free(wk);
	return __atomic_load_n(&worker_failed, __ATOMIC_RELAXED) ? NFQLB_FAIL : r;
}

const struct cmd cmd_lb = {
	"lb", do_lb, "run the NFQUEUE worker (until SIGINT or SIGTERM)", NULL, lb_opts,
};
