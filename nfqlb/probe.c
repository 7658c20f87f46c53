/* SPDX-License-Identifier: GPL-2.0-or-later */
/* probe.c: the nonblocking probes of `nfqlb health` (see probe.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nfqlb/probe.h"

void probe_init(struct probe *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

static enum probe_result finish(struct probe *p, enum probe_result r)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->pid = 0;
	p->phase = PHASE_IDLE;
	return r;
}

static enum probe_result fail(struct probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum probe_result fail(struct probe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return finish(p, PROBE_FAIL);
}

/* http: queue the request; udp: send the payload.  Then wait for a reply. */
static enum probe_result send_some(struct probe *p)
{
	ssize_t n = send(p->fd, p->buf + p->off, p->len - p->off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return PROBE_RUNNING;
	if (n < 0)
		return fail(p, "send: %s", strerror(errno));
	p->off += (size_t)n;
	if (p->off < p->len)
		return PROBE_RUNNING;
	p->off = 0;
	p->phase = PHASE_RECV;
	return PROBE_RUNNING;
}

static enum probe_result connected(struct probe *p)
{
	const struct health_check *c = p->c;
	int n;

	switch (c->kind) {
	case HEALTH_HTTP:
		n = snprintf(p->buf, sizeof(p->buf), "GET %s HTTP/1.0\r\nHost: %s\r\n"
			     "User-Agent: nfqlb-health\r\nConnection: close\r\n\r\n",
			     c->text, c->host);
		if (n < 0 || (size_t)n >= sizeof(p->buf))
			return fail(p, "request too long");
		p->len = (size_t)n;
		break;
	case HEALTH_UDP:
		memcpy(p->buf, c->text, c->textlen);
		p->len = c->textlen;
		break;
	default:
		return finish(p, PROBE_OK);
	}
	p->off = 0;
	p->phase = PHASE_SEND;
	return send_some(p);
}

static enum probe_result start_socket(struct probe *p)
{
	const struct health_check *c = p->c;
	int type = c->kind == HEALTH_UDP ? SOCK_DGRAM : SOCK_STREAM;

	p->fd = socket(c->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return fail(p, "socket: %s", strerror(errno));
	if (connect(p->fd, (const struct sockaddr *)&c->addr, c->addrlen) == 0)
		return connected(p);
	if (errno != EINPROGRESS)
		return fail(p, "connect: %s", strerror(errno));
	p->phase = PHASE_CONNECT;
	return PROBE_RUNNING;
}

/* In the child: only async-signal-safe calls until execv(). */
static void child(pid_t parent, char *const *argv)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int null;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGPIPE, &dfl, NULL);
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(127);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	execv("/bin/sh", argv);
	_exit(127);
}

static enum probe_result start_child(struct probe *p)
{
	char *argv[] = { "sh", "-c", (char *)p->c->text, NULL };
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		return fail(p, "fork: %s", strerror(errno));
	if (pid == 0)
		child(parent, argv);
	setpgid(pid, pid);	/* also here: kill(-pid) must find the group at once */
	p->pid = pid;
	p->fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->fd < 0) {
		int err = errno;

		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return fail(p, "pidfd_open: %s", strerror(err));
	}
	p->phase = PHASE_CHILD;
	return PROBE_RUNNING;
}

enum probe_result probe_start(struct probe *p, const struct health_check *c)
{
	probe_init(p);
	p->c = c;
	if (c->kind == HEALTH_EXEC)
		return start_child(p);
	return start_socket(p);
}

short probe_events(const struct probe *p)
{
	return p->phase == PHASE_CONNECT || p->phase == PHASE_SEND ? POLLOUT : POLLIN;
}

/* "HTTP/1.1 200 OK": the status must be the one expected. */
static enum probe_result status_line(struct probe *p)
{
	unsigned int code = 0;
	char *sp;
	int i;

	p->buf[p->off] = '\0';
	sp = strchr(p->buf, ' ');
	if (strncmp(p->buf, "HTTP/", 5) != 0 || !sp)
		return fail(p, "not an HTTP status line");
	for (i = 1; i <= 3; i++) {
		if (sp[i] < '0' || sp[i] > '9')
			return fail(p, "not an HTTP status line");
		code = code * 10 + (unsigned int)(sp[i] - '0');
	}
	if (sp[4] != ' ' && sp[4] != '\r' && sp[4] != '\n')
		return fail(p, "not an HTTP status line");
	if (code != p->c->status)
		return fail(p, "status %u, want %u", code, p->c->status);
	return finish(p, PROBE_OK);
}

static enum probe_result recv_some(struct probe *p)
{
	size_t room = p->c->kind == HEALTH_HTTP ? PROBE_REPLY_MAX - p->off : sizeof(p->buf);
	ssize_t n = recv(p->fd, p->buf + p->off, room, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return PROBE_RUNNING;
	if (n < 0)
		return fail(p, "recv: %s", strerror(errno));
	if (p->c->kind == HEALTH_UDP)
		return finish(p, PROBE_OK);
	if (n == 0)
		return fail(p, "connection closed before the status line");
	p->off += (size_t)n;
	if (memchr(p->buf, '\n', p->off))
		return status_line(p);
	if (p->off == PROBE_REPLY_MAX)
		return fail(p, "status line longer than %d bytes", PROBE_REPLY_MAX);
	return PROBE_RUNNING;
}

/* Reap the child; its process group goes first, while the zombie still
 * holds the group's id, so that nothing it left behind lives on. */
static int reap(struct probe *p, int *status)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid == 0)
		return 0;
	kill(-p->pid, SIGKILL);
	return waitpid(p->pid, status, WNOHANG) == p->pid;
}

static enum probe_result child_done(struct probe *p)
{
	int status;

	if (!reap(p, &status))
		return PROBE_RUNNING;
	if (p->phase == PHASE_REAP)
		return finish(p, PROBE_FAIL);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return finish(p, PROBE_OK);
	if (WIFEXITED(status))
		return fail(p, "exit status %d", WEXITSTATUS(status));
	return fail(p, "killed by signal %d", WTERMSIG(status));
}

static enum probe_result connect_done(struct probe *p)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		return fail(p, "connect: %s", strerror(err));
	return connected(p);
}

enum probe_result probe_step(struct probe *p, short revents)
{
	if (!revents)
		return PROBE_RUNNING;
	switch (p->phase) {
	case PHASE_CONNECT:
		return connect_done(p);
	case PHASE_SEND:
		return send_some(p);
	case PHASE_RECV:
		return recv_some(p);
	case PHASE_CHILD:
	case PHASE_REAP:
		return child_done(p);
	default:
		return PROBE_RUNNING;
	}
}

void probe_abort(struct probe *p, const char *why)
{
	snprintf(p->why, sizeof(p->why), "%s", why);
	if (p->phase != PHASE_CHILD && p->phase != PHASE_REAP) {
		finish(p, PROBE_FAIL);
		return;
	}
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
	p->phase = PHASE_REAP;
	child_done(p);
}

void probe_kill(struct probe *p, int wait_ms)
{
	struct pollfd pfd = { p->fd, POLLIN, 0 };

	if (p->phase != PHASE_CHILD && p->phase != PHASE_REAP) {
		finish(p, PROBE_FAIL);
		return;
	}
	probe_abort(p, "stopped");
	if (p->phase == PHASE_REAP && poll(&pfd, 1, wait_ms) > 0)
		child_done(p);
	finish(p, PROBE_FAIL);
}
