/* SPDX-License-Identifier: GPL-2.0-or-later */
/* guard.c: the truncation guard (see guard.h and shm_lost() in shm.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#include "shm/guard.h"
#include "shm/shm.h"

/*
 * The truncation guard (see shm_lost() in shm.h).
 *
 * Anyone who can write the object can also ftruncate() it smaller, and then
 * touching a mapped page past the new end raises SIGBUS: without a guard a
 * careless `truncate -s 0` kills every worker in the middle of its packet
 * path.  The alternatives do not work: checking the size with fstat() before
 * each access costs a system call per packet and still leaves a window
 * between the check and the access; reading through pread() instead of a
 * mapping cannot carry the counters a worker writes for every packet; and
 * tmpfs objects made by shm_open() cannot be sealed against shrinking.  So
 * each mapping is registered here, and a SIGBUS handler that finds the
 * faulting address in a registered mapping maps zeroed private memory over
 * the whole of it (MAP_FIXED keeps every pointer into it valid), marks the
 * handle lost and returns: the faulting instruction runs again on the new
 * pages and the process goes on.  Its owner sees shm_lost(), stops trusting
 * what it reads there, and detaches.  This is what Wayland compositors do
 * with the shared buffers their clients may truncate.
 *
 * The handler reads only this static table, never a handle that another
 * thread may be freeing: it dereferences the owner only of the entry that
 * holds the faulting address, which is the faulting thread's own handle.
 */
struct guard {
	uintptr_t base;		/* atomic; 0 for a free entry */
	uintptr_t end;
	struct shm *owner;
};

static struct guard guards[SHM_GUARD_MAX];
static struct sigaction prev_sigbus;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static int guard_errno;

void shm_guard_lose(struct shm *s)
{
	int prot = PROT_READ | (s->writable ? PROT_WRITE : 0);

	if (mmap(s->hdr, s->size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) != MAP_FAILED)
		__atomic_store_n(&s->lost, 1, __ATOMIC_RELEASE);
}

static struct shm *guard_find(uintptr_t a)
{
	unsigned int i;

	for (i = 0; i < SHM_GUARD_MAX; i++) {
		uintptr_t base = __atomic_load_n(&guards[i].base, __ATOMIC_ACQUIRE);

		if (base && a >= base && a < guards[i].end)
			return guards[i].owner;
	}
	return NULL;
}

/* Not ours: what would have happened without us. */
static void chain_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (prev_sigbus.sa_handler == SIG_DFL || prev_sigbus.sa_handler == SIG_IGN)
		sigaction(SIGBUS, &dfl, NULL);	/* the fault repeats and kills */
	else if (prev_sigbus.sa_flags & SA_SIGINFO)
		prev_sigbus.sa_sigaction(sig, si, uc);
	else
		prev_sigbus.sa_handler(sig);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int err = errno;
	struct shm *s = NULL;

	if (si->si_code == BUS_ADRERR)
		s = guard_find((uintptr_t)si->si_addr);
	if (s)
		shm_guard_lose(s);
	errno = err;
	if (!s || !shm_lost(s))
		chain_sigbus(sig, si, uc);
}

static void guard_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO | SA_RESTART };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &prev_sigbus) < 0)
		guard_errno = errno;
}

/* Register s's mapping.  Returns 0, or -1 with errno set. */
static int guard_add(struct shm *s)
{
	uintptr_t zero = 0, base = (uintptr_t)s->hdr;
	unsigned int i;

	pthread_once(&guard_once, guard_install);
	if (guard_errno) {
		errno = guard_errno;
		return -1;
	}
	for (i = 0; i < SHM_GUARD_MAX; i++) {
		struct guard *g = &guards[i];

		if (__atomic_load_n(&g->base, __ATOMIC_RELAXED))
			continue;
		/* Claim the entry with a placeholder; publish the range last. */
		if (!__atomic_compare_exchange_n(&g->base, &zero, UINTPTR_MAX, false,
						 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			zero = 0;
			continue;
		}
		g->owner = s;
		g->end = base + s->size;
		__atomic_store_n(&g->base, base, __ATOMIC_RELEASE);
		return 0;
	}
	errno = ENFILE;
	return -1;
}

static void guard_del(const struct shm *s)
{
	unsigned int i;

	for (i = 0; i < SHM_GUARD_MAX; i++)
		if (__atomic_load_n(&guards[i].base, __ATOMIC_RELAXED) ==
		    (uintptr_t)s->hdr && guards[i].owner == s)
			__atomic_store_n(&guards[i].base, 0, __ATOMIC_RELEASE);
}

int shm_guard_map(struct shm *s)
{
	int prot = PROT_READ | (s->writable ? PROT_WRITE : 0);
	void *map = mmap(NULL, s->size, prot, MAP_SHARED, s->fd, 0);
	int err;

	if (map == MAP_FAILED)
		return -1;
	s->hdr = map;
	if (guard_add(s) == 0)
		return 0;
	err = errno;
	munmap(map, s->size);
	s->hdr = NULL;
	errno = err;
	return -1;
}

void shm_guard_unmap(struct shm *s)
{
	if (!s->hdr)
		return;
	guard_del(s);
	munmap(s->hdr, s->size);
	s->hdr = NULL;
}
