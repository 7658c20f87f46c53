/* SPDX-License-Identifier: GPL-2.0-or-later */
/* probe.h: one health probe in flight, driven by poll().
 *
 * A probe never blocks: probe_start() opens a nonblocking socket (or forks
 * the command), and the caller polls probe->fd for probe_events() and
 * hands what poll() returned to probe_step() until the probe is done.  The
 * caller enforces the timeout with probe_abort().
 *
 *   tcp   a connection is established
 *   http  a GET of the path (HTTP/1.0) is answered with the expected status
 *   udp   the payload is sent and a datagram comes back from the target
 *   exec  `/bin/sh -c COMMAND` exits with status 0; its stdin, stdout and
 *         stderr are /dev/null, and it runs in its own process group, which
 *         is killed (SIGKILL) when the probe is aborted, and dies with the
 *         checker (PR_SET_PDEATHSIG)
 *
 * Probes print nothing; a failed probe leaves a one-line reason in p->why.
 */
#ifndef NFQLB_PROBE_H
#define NFQLB_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "nfqlb/healthconf.h"

#define PROBE_REPLY_MAX	256	/* bytes of an HTTP status line */

enum probe_result {
	PROBE_RUNNING,	/* poll p->fd for probe_events() */
	PROBE_OK,
	PROBE_FAIL,	/* p->why says why */
};

enum probe_phase {
	PHASE_IDLE,	/* no probe; fd is -1 */
	PHASE_CONNECT,	/* tcp, http: waiting for the connection */
	PHASE_SEND,	/* http: sending the request */
	PHASE_RECV,	/* http: reading the status line; udp: waiting for a reply */
	PHASE_CHILD,	/* exec: waiting for the command to exit */
	PHASE_REAP,	/* exec, aborted: the killed command is not reaped yet */
};

/* One probe of one check; zero it with probe_init() before the first use. */
struct probe {
	const struct health_check *c;
	enum probe_phase phase;
	int fd;			/* the socket, or the child's pidfd; -1 when none */
	pid_t pid;		/* exec: the child; 0 when none */
	size_t off;		/* http: request bytes sent, reply bytes read */
	char buf[PROBE_REPLY_MAX + HEALTHCONF_TEXT_MAX + 128];
	size_t len;		/* http: request length */
	char why[WHY_MAX];
};

/**
 * probe_init - make p an idle probe
 * @p: the probe
 */
void probe_init(struct probe *p);

/**
 * probe_start - start probing c
 * @p: an idle probe (see probe_busy())
 * @c: the check; it must outlive the probe
 *
 * Returns PROBE_RUNNING, or PROBE_OK / PROBE_FAIL when the result is known
 * at once (a refused connection, a failed fork, ...); the probe is then
 * idle again.
 */
enum probe_result probe_start(struct probe *p, const struct health_check *c);

/**
 * probe_events - the poll() events p waits for, on p->fd
 * @p: a probe that is not idle
 */
short probe_events(const struct probe *p);

/**
 * probe_step - advance p after poll() reported revents on p->fd
 * @p: a probe that is not idle
 * @revents: what poll() returned for p->fd (may be 0: nothing happens)
 *
 * Returns PROBE_RUNNING while the probe goes on, else its result; the
 * probe is then idle.  A probe in PHASE_REAP returns PROBE_FAIL once its
 * killed command is reaped (the result was given at probe_abort()).
 */
enum probe_result probe_step(struct probe *p, short revents);

/**
 * probe_abort - stop a running probe, which has failed (a timeout)
 * @p: the probe
 * @why: the reason to leave in p->why
 *
 * Closes the socket, or kills the command's process group.  A killed
 * command that is not reaped at once leaves p in PHASE_REAP: keep polling
 * p->fd and calling probe_step() until it is idle.
 */
void probe_abort(struct probe *p, const char *why);

/**
 * probe_busy - whether p is in flight (or still reaping a killed command)
 */
static inline bool probe_busy(const struct probe *p)
{
	return p->phase != PHASE_IDLE;
}

/**
 * probe_kill - kill and reap an exec probe's command, waiting at most
 *              wait_ms for it; close any socket.  For shutting down.
 * @p: the probe
 * @wait_ms: the most to wait for the command to be reaped
 */
void probe_kill(struct probe *p, int wait_ms);

#endif
