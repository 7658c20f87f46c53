/* shm.c: the shared state (see shm.h for the layout and the protocol). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maglev/maglev.h"
#include "shm/shm.h"

/* A reader retries this often while writers keep rewriting its buffer. */
#define READ_TRIES 10000

_Static_assert(sizeof(struct shm_hdr) == 128, "header layout");
_Static_assert(sizeof(struct shm_target) == 16, "target layout");

static uint64_t align64(uint64_t x)
{
	return (x + 63) & ~(uint64_t)63;
}

static uint64_t buf_size(uint32_t m, uint32_t n)
{
	return align64((uint64_t)n * sizeof(struct shm_target) +
		       (uint64_t)m * sizeof(uint32_t));
}

static uint64_t off_buf(uint32_t m, uint32_t n, unsigned int b)
{
	return sizeof(struct shm_hdr) + b * buf_size(m, n);
}

static uint64_t off_base(uint32_t m, uint32_t n)
{
	return off_buf(m, n, 2);
}

static uint64_t worker_stride(uint32_t n)
{
	return align64(sizeof(struct shm_worker) + (uint64_t)n * sizeof(uint64_t));
}

static uint64_t off_workers(uint32_t m, uint32_t n)
{
	return off_base(m, n) + align64((uint64_t)n * sizeof(uint64_t));
}

static uint64_t total_size(uint32_t m, uint32_t n)
{
	return off_workers(m, n) + SHM_WORKERS * worker_stride(n);
}

static struct shm_target *buf_targets(const struct shm *s, unsigned int b)
{
	return (struct shm_target *)((char *)s->hdr + off_buf(s->m, s->n, b));
}

static uint32_t *buf_lookup(const struct shm *s, unsigned int b)
{
	return (uint32_t *)(buf_targets(s, b) + s->n);
}

static uint64_t *bases(const struct shm *s)
{
	return (uint64_t *)((char *)s->hdr + off_base(s->m, s->n));
}

static int fail(int err, char *why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(int err, char *why, const char *fmt, ...)
{
	va_list ap;

	if (why) {
		va_start(ap, fmt);
		vsnprintf(why, SHM_WHY_MAX, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return -1;
}

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

/* Map zeroed private memory over s's mapping, at the same address. */
static void lose(struct shm *s)
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
		lose(s);
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

/* Map s->size bytes of s->fd, guarded.  Returns 0, or -1 with errno set. */
static int map_guarded(struct shm *s)
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

static void unmap_guarded(struct shm *s)
{
	if (!s->hdr)
		return;
	guard_del(s);
	munmap(s->hdr, s->size);
	s->hdr = NULL;
}

int shm_check_size(struct shm *s, char *why)
{
	struct stat st;

	if (fstat(s->fd, &st) < 0)
		return fail(errno, why, "fstat: %s", strerror(errno));
	if (!shm_lost(s) && (uint64_t)st.st_size != s->size)
		lose(s);
	if (shm_lost(s))
		return fail(EIO, why, "the object was resized to %llu bytes while in use (it had %llu)",
			    (unsigned long long)st.st_size, (unsigned long long)s->size);
	return 0;
}

int shm_name_check(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > SHM_NAME_MAX || strchr(name, '/') ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int params_check(const struct shm_params *p)
{
	if (p->m < 2 || p->m > SHM_M_MAX || !maglev_is_prime(p->m) ||
	    p->n < 1 || p->n > SHM_N_MAX || p->n > p->m ||
	    (unsigned int)p->mode >= HASH_MODE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int hdr_check(const struct shm_hdr *h, uint64_t fsize, char *why)
{
	struct shm_params p;

	if (fsize < sizeof(*h))
		return fail(EBADMSG, why, "object is truncated (%llu bytes)",
			    (unsigned long long)fsize);
	if (h->magic != SHM_MAGIC)
		return fail(EBADMSG, why, "not an nfqlb table (bad magic 0x%08x)",
			    h->magic);
	if (h->version != SHM_VERSION)
		return fail(EPROTONOSUPPORT, why,
			    "layout version %u is not supported (this nfqlb reads %u)",
			    h->version, SHM_VERSION);
	p = (struct shm_params){ h->m, h->n, h->seed, (enum hash_mode)h->hash_mode };
	if (h->hdr_size != sizeof(*h) || h->workers != SHM_WORKERS ||
	    params_check(&p) < 0)
		return fail(EBADMSG, why,
			    "corrupt header (M=%u N=%u hash=%u workers=%u)",
			    h->m, h->n, h->hash_mode, h->workers);
	if (h->size != total_size(h->m, h->n) || fsize != h->size)
		return fail(EBADMSG, why,
			    "size %llu does not match the header (expected %llu)",
			    (unsigned long long)fsize,
			    (unsigned long long)total_size(h->m, h->n));
	return 0;
}

static void shm_path(char *dst, const char *name)
{
	dst[0] = '/';
	strcpy(dst + 1, name);
}

static void init_content(struct shm_hdr *h, const struct shm_params *p)
{
	struct shm s = { .hdr = h, .m = p->m, .n = p->n };
	uint32_t i;

	/* ftruncate() zeroed everything; only the lookup needs a value. */
	for (i = 0; i < p->m; i++)
		buf_lookup(&s, 0)[i] = SHM_NO_SLOT;
	for (i = 0; i < SHM_WORKERS; i++)
		shm_worker_at(&s, i)->queue = UINT32_MAX;
	h->version = SHM_VERSION;
	h->hdr_size = sizeof(*h);
	h->m = p->m;
	h->n = p->n;
	h->workers = SHM_WORKERS;
	h->hash_mode = p->mode;
	h->seed = p->seed;
	h->size = total_size(p->m, p->n);
	/* The magic goes last: until then a reader sees "not an nfqlb table". */
	__atomic_store_n(&h->magic, SHM_MAGIC, __ATOMIC_RELEASE);
}

static int create_new(const char *path, const struct shm_params *p)
{
	struct shm s = { .writable = true, .size = total_size(p->m, p->n) };
	int ret = -1, err;

	s.fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (s.fd < 0)
		return -1;
	if (fchmod(s.fd, 0600) < 0 || ftruncate(s.fd, (off_t)s.size) < 0 ||
	    map_guarded(&s) < 0)
		goto out;
	init_content(s.hdr, p);
	ret = 0;
	if (shm_lost(&s)) {
		errno = EIO;
		ret = -1;
	}
out:
	err = errno;
	unmap_guarded(&s);
	close(s.fd);
	if (ret < 0)
		shm_unlink(path);
	errno = err;
	return ret;
}

int shm_create(const char *name, const struct shm_params *p, bool force)
{
	char path[SHM_NAME_MAX + 2];

	if (shm_name_check(name) < 0 || params_check(p) < 0)
		return -1;
	shm_path(path, name);
	if (create_new(path, p) == 0)
		return 0;
	if (errno != EEXIST || !force)
		return -1;
	if (shm_remove(name) < 0 && errno != ENOENT)
		return -1;
	return create_new(path, p);
}

/* Read and check the header through the descriptor, then map exactly the
 * size the checked copy gives: later changes to the header cannot make the
 * handle disagree with its mapping. */
static struct shm *attach_fd(struct shm *s, char *why)
{
	struct shm_hdr h;
	struct stat st;
	ssize_t got;

	got = pread(s->fd, &h, sizeof(h), 0);
	if (got < 0 || fstat(s->fd, &st) < 0) {
		fail(errno, why, "%s", strerror(errno));
		return NULL;
	}
	if ((size_t)got < sizeof(h))
		st.st_size = got;
	if (hdr_check(&h, (uint64_t)st.st_size, why) < 0)
		return NULL;
	s->size = (size_t)h.size;
	if (map_guarded(s) < 0) {
		fail(errno, why, "%s", strerror(errno));
		return NULL;
	}
	s->m = h.m;
	s->n = h.n;
	s->seed = h.seed;
	s->mode = (enum hash_mode)h.hash_mode;
	return s;
}

struct shm *shm_attach(const char *name, bool writable, char *why)
{
	struct shm *s;
	int err;

	if (shm_name_check(name) < 0) {
		fail(EINVAL, why, "bad name \"%s\"", name);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	shm_path(s->name, name);
	s->writable = writable;
	s->fd = shm_open(s->name, writable ? O_RDWR : O_RDONLY, 0);
	if (s->fd >= 0 && attach_fd(s, why))
		return s;
	if (why && s->fd < 0)
		fail(errno, why, "%s", strerror(errno));
	err = errno;
	shm_detach(s);
	errno = err;
	return NULL;
}

void shm_detach(struct shm *s)
{
	if (!s)
		return;
	unmap_guarded(s);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

int shm_remove(const char *name)
{
	char path[SHM_NAME_MAX + 2];
	struct shm *s;

	if (shm_name_check(name) < 0)
		return -1;
	s = shm_attach(name, true, NULL);
	if (s) {
		__atomic_store_n(&s->hdr->retired, 1, __ATOMIC_RELEASE);
		shm_detach(s);
	}
	shm_path(path, name);
	return shm_unlink(path);
}

int shm_view_init(struct shm_view *v, uint32_t m, uint32_t n)
{
	v->m = m;
	v->n = n;
	v->generation = 0;
	v->targets = calloc(n, sizeof(*v->targets));
	v->lookup = calloc(m, sizeof(*v->lookup));
	if (v->targets && v->lookup)
		return 0;
	shm_view_free(v);
	errno = ENOMEM;
	return -1;
}

void shm_view_free(struct shm_view *v)
{
	free(v->targets);
	free(v->lookup);
	v->targets = NULL;
	v->lookup = NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Active ids are non-zero, in range and unique.  Sets *nactive. */
static int check_targets(const struct shm_view *v, uint32_t *nactive,
			 char *why)
{
	uint32_t *ids, i, k = 0;
	int ret = 0;

	ids = malloc(sizeof(*ids) * (v->n ? v->n : 1));
	if (!ids)
		return -1;
	for (i = 0; i < v->n && ret == 0; i++) {
		const struct shm_target *t = &v->targets[i];

		if (t->active > 1 || (t->active && (t->id == 0 || t->weight == 0 ||
						    t->weight > MAGLEV_WEIGHT_MAX)))
			ret = fail(EBADMSG, why, "corrupt target slot %u (id %u weight %u)",
				   i, t->id, t->weight);
		else if (t->active)
			ids[k++] = t->id;
	}
	qsort(ids, k, sizeof(*ids), cmp_u32);
	for (i = 1; i < k && ret == 0; i++)
		if (ids[i] == ids[i - 1])
			ret = fail(EBADMSG, why, "target id %u is active twice", ids[i]);
	free(ids);
	*nactive = k;
	return ret;
}

int shm_view_check(const struct shm_view *v, char *why)
{
	uint32_t *count, nactive, i;
	int ret = 0;

	if (check_targets(v, &nactive, why) < 0)
		return -1;
	count = calloc(v->n ? v->n : 1, sizeof(*count));
	if (!count)
		return -1;
	for (i = 0; i < v->m && ret == 0; i++) {
		uint32_t slot = v->lookup[i];

		if (slot == SHM_NO_SLOT ? nactive > 0 :
		    slot >= v->n || !v->targets[slot].active)
			ret = fail(EBADMSG, why,
				   "lookup entry %u names no active target (%u)",
				   i, slot);
		else if (slot != SHM_NO_SLOT)
			count[slot]++;
	}
	for (i = 0; i < v->n && ret == 0; i++)
		if (v->targets[i].active && v->targets[i].entries != count[i])
			ret = fail(EBADMSG, why,
				   "target %u claims %u entries but has %u",
				   v->targets[i].id, v->targets[i].entries, count[i]);
	free(count);
	return ret;
}

/* One seqlock read of the published buffer.  Returns 0, or -1 if a writer
 * touched it meanwhile. */
static int read_once(const struct shm *s, struct shm_view *v)
{
	uint64_t g = shm_generation(s);
	unsigned int b = g & 1;
	uint32_t s1, s2;

	s1 = __atomic_load_n(&s->hdr->seq[b], __ATOMIC_ACQUIRE);
	if (s1 & 1)
		return -1;
	memcpy(v->targets, buf_targets(s, b), sizeof(*v->targets) * s->n);
	memcpy(v->lookup, buf_lookup(s, b), sizeof(*v->lookup) * s->m);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = __atomic_load_n(&s->hdr->seq[b], __ATOMIC_RELAXED);
	if (s1 != s2)
		return -1;
	v->generation = g;
	return 0;
}

/*
 * Writers hold the lock while a buffer is marked busy, so a busy mark that
 * outlasts the lock is damage (a writer that died would leave the other
 * buffer busy, not this one).  Ask for the lock without waiting: if nobody
 * holds it, one more read under it decides.  A writer's own handle already
 * holds it (`locked`); flock() again would turn its lock into a shared one.
 */
static int read_unbusy(const struct shm *s, struct shm_view *v, bool locked,
		       char *why)
{
	int r;

	if (!locked && flock(s->fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 1 : fail(errno, why, "lock: %s",
						       strerror(errno));
	r = read_once(s, v);
	if (!locked)
		flock(s->fd, LOCK_UN);
	if (shm_lost(s))
		return fail(EIO, why, "the object was truncated while in use");
	if (r < 0)
		return fail(EBADMSG, why,
			    "the published table is marked busy but no writer holds the lock");
	return shm_view_check(v, why);
}

static int read_table(const struct shm *s, struct shm_view *v, bool locked,
		      char *why)
{
	int i, r;

	if (v->m != s->m || v->n != s->n)
		return fail(EINVAL, why, "view does not match the table size");
	for (i = 0; i < READ_TRIES; i++) {
		r = read_once(s, v);
		if (shm_lost(s))
			return fail(EIO, why, "the object was truncated while in use");
		if (r == 0)
			return shm_view_check(v, why);
		if (locked || i == 100) {
			r = read_unbusy(s, v, locked, why);
			if (r <= 0)
				return r;
		}
		if (i > 100)
			usleep(100);
	}
	return fail(EAGAIN, why, "the table kept changing while being read");
}

int shm_read(const struct shm *s, struct shm_view *v, char *why)
{
	return read_table(s, v, false, why);
}

/* Fill v's lookup from its active targets, and each target's entry count. */
static int build_lookup(struct shm_view *v, uint32_t seed)
{
	struct maglev_target *t = malloc(sizeof(*t) * (v->n ? v->n : 1));
	uint32_t *slot = malloc(sizeof(*slot) * (v->n ? v->n : 1));
	uint32_t i, k = 0;
	int ret = -1;

	if (!t || !slot)
		goto out;
	for (i = 0; i < v->n; i++) {
		v->targets[i].entries = 0;
		if (!v->targets[i].active)
			continue;
		t[k] = (struct maglev_target){ v->targets[i].id, v->targets[i].weight };
		slot[k++] = i;
	}
	if (maglev_build(v->lookup, v->m, seed, t, k) < 0)
		goto out;
	for (i = 0; i < v->m; i++) {
		if (v->lookup[i] == MAGLEV_EMPTY) {
			v->lookup[i] = SHM_NO_SLOT;
			continue;
		}
		v->lookup[i] = slot[v->lookup[i]];
		v->targets[v->lookup[i]].entries++;
	}
	ret = 0;
out:
	free(t);
	free(slot);
	return ret;
}

/* Write the buffer readers are not using, then make it the published one. */
static void publish(struct shm *s, const struct shm_view *v)
{
	uint64_t g = __atomic_load_n(&s->hdr->generation, __ATOMIC_RELAXED);
	unsigned int b = (g + 1) & 1;
	uint32_t q = __atomic_load_n(&s->hdr->seq[b], __ATOMIC_RELAXED);

	/* Odd: a writer died while writing this buffer.  We hold the lock,
	 * so nobody writes it now; start from the next even value, or the
	 * buffer would be published marked busy. */
	q += q & 1;
	__atomic_store_n(&s->hdr->seq[b], q + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(buf_targets(s, b), v->targets, sizeof(*v->targets) * s->n);
	memcpy(buf_lookup(s, b), v->lookup, sizeof(*v->lookup) * s->m);
	__atomic_store_n(&s->hdr->seq[b], q + 2, __ATOMIC_RELEASE);
	__atomic_store_n(&s->hdr->generation, g + 1, __ATOMIC_RELEASE);
}

static int lock(struct shm *s, char *why)
{
	while (flock(s->fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return fail(errno, why, "lock: %s", strerror(errno));
	if (shm_retired(s)) {
		flock(s->fd, LOCK_UN);
		return fail(ESTALE, why, "the table was replaced or deleted meanwhile");
	}
	return 0;
}

struct edit {
	const uint32_t *ids;
	size_t k;
	uint32_t weight;
	uint32_t *bad;
	uint32_t *reused;	/* slots given to a new id: k entries */
	size_t nreused;
};

typedef int (*edit_fn)(struct shm_view *v, struct edit *e, char *why);

static uint64_t slot_total(const struct shm *s, uint32_t slot)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < SHM_WORKERS; i++)
		sum += __atomic_load_n(&shm_worker_at(s, i)->target[slot],
				       __ATOMIC_RELAXED);
	return sum;
}

/* Lock, copy the current table, edit it, and publish it if it changed. */
static int update(struct shm *s, edit_fn fn, struct edit *e, char *why)
{
	struct shm_view v;
	size_t i;
	int ret, err;

	if (!s->writable)
		return fail(EBADF, why, "table is open read-only");
	if (shm_view_init(&v, s->m, s->n) < 0)
		return fail(errno, why, "%s", strerror(errno));
	if (lock(s, why) < 0) {
		shm_view_free(&v);
		return -1;
	}
	ret = read_table(s, &v, true, why);
	if (ret == 0)
		ret = fn(&v, e, why);
	if (ret > 0 && build_lookup(&v, s->seed) < 0)
		ret = fail(errno, why, "build: %s", strerror(errno));
	if (ret > 0) {
		for (i = 0; i < e->nreused; i++)
			bases(s)[e->reused[i]] = slot_total(s, e->reused[i]);
		publish(s, &v);
		/* Truncated meanwhile: the update went to the guard's zero
		 * pages, not to the object. */
		if (shm_lost(s))
			ret = fail(EIO, why, "the object was truncated while being written");
	}
	err = errno;
	flock(s->fd, LOCK_UN);
	shm_view_free(&v);
	errno = err;
	return ret < 0 ? -1 : 0;
}

static uint32_t find_slot(const struct shm_view *v, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < v->n; i++)
		if (v->targets[i].id == id)
			return i;
	return SHM_NO_SLOT;
}

/* A slot for a new id: a never-used one first, else an inactive one. */
static uint32_t free_slot(const struct shm_view *v, struct edit *e)
{
	uint32_t i, unused = find_slot(v, 0);

	if (unused != SHM_NO_SLOT)
		return unused;
	for (i = 0; i < v->n; i++)
		if (!v->targets[i].active) {
			e->reused[e->nreused++] = i;
			return i;
		}
	return SHM_NO_SLOT;
}

static int activate_one(struct shm_view *v, struct edit *e, uint32_t id,
			uint32_t *nactive, char *why)
{
	uint32_t i = find_slot(v, id);
	struct shm_target *t;

	if (i != SHM_NO_SLOT && v->targets[i].active) {
		if (!e->weight || v->targets[i].weight == e->weight)
			return 0;
		v->targets[i].weight = e->weight;
		return 1;
	}
	if (*nactive >= v->n) {
		*e->bad = id;
		return fail(ENOSPC, why, "activating %u would exceed N=%u active targets",
			    id, v->n);
	}
	if (i == SHM_NO_SLOT)
		i = free_slot(v, e);
	t = &v->targets[i];
	*t = (struct shm_target){ id, e->weight ? e->weight : 1, 1, 0 };
	(*nactive)++;
	return 1;
}

static int do_activate(struct shm_view *v, struct edit *e, char *why)
{
	uint32_t nactive = 0, i;
	int changed = 0, r;
	size_t j;

	for (i = 0; i < v->n; i++)
		nactive += v->targets[i].active;
	for (j = 0; j < e->k; j++) {
		r = activate_one(v, e, e->ids[j], &nactive, why);
		if (r < 0)
			return -1;
		changed |= r;
	}
	return changed;
}

static int do_deactivate(struct shm_view *v, struct edit *e, char *why)
{
	uint32_t i;
	size_t j;

	for (j = 0; j < e->k; j++) {
		i = find_slot(v, e->ids[j]);
		if (i == SHM_NO_SLOT || !v->targets[i].active) {
			*e->bad = e->ids[j];
			return fail(ENOENT, why, "target %u is not active", e->ids[j]);
		}
	}
	for (j = 0; j < e->k; j++)
		v->targets[find_slot(v, e->ids[j])].active = 0;
	return e->k > 0;
}

static int ids_check(const uint32_t *ids, size_t k, uint32_t weight,
		     uint32_t *bad, char *why)
{
	size_t j;

	if (weight > MAGLEV_WEIGHT_MAX)
		return fail(EINVAL, why, "weight %u is out of range 1..%u",
			    weight, MAGLEV_WEIGHT_MAX);
	for (j = 0; j < k; j++)
		if (ids[j] == 0) {
			*bad = 0;
			return fail(EINVAL, why, "target id 0 is not allowed");
		}
	return 0;
}

int shm_activate(struct shm *s, const uint32_t *ids, size_t k,
		 uint32_t weight, uint32_t *bad, char *why)
{
	struct edit e = { ids, k, weight, bad, NULL, 0 };
	int ret;

	if (ids_check(ids, k, weight, bad, why) < 0)
		return -1;
	e.reused = malloc(sizeof(*e.reused) * (k ? k : 1));
	if (!e.reused)
		return fail(ENOMEM, why, "%s", strerror(ENOMEM));
	ret = update(s, do_activate, &e, why);
	free(e.reused);
	return ret;
}

int shm_deactivate(struct shm *s, const uint32_t *ids, size_t k, uint32_t *bad,
		   char *why)
{
	struct edit e = { ids, k, 0, bad, NULL, 0 };

	if (ids_check(ids, k, 0, bad, why) < 0)
		return -1;
	return update(s, do_deactivate, &e, why);
}

struct shm_worker *shm_worker_at(const struct shm *s, unsigned int i)
{
	return (struct shm_worker *)((char *)s->hdr + off_workers(s->m, s->n) +
				     i * worker_stride(s->n));
}

static bool task_alive(int32_t tid)
{
	return kill(tid, 0) == 0 || errno == EPERM;
}

static struct shm_worker *claim_pass(struct shm *s, int32_t tid,
				     uint32_t queue, bool same_queue)
{
	unsigned int i;

	for (i = 0; i < SHM_WORKERS; i++) {
		struct shm_worker *w = shm_worker_at(s, i);
		int32_t o = __atomic_load_n(&w->owner, __ATOMIC_ACQUIRE);

		if ((o != 0 && (o == tid || task_alive(o))) ||
		    (same_queue && w->queue != queue))
			continue;
		if (__atomic_compare_exchange_n(&w->owner, &o, tid, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_store_n(&w->queue, queue, __ATOMIC_RELAXED);
			return w;
		}
	}
	return NULL;
}

struct shm_worker *shm_worker_claim(struct shm *s, int32_t tid, uint32_t queue)
{
	/* Prefer the set that served this queue before: its per-queue drop
	 * counts stay in one place. */
	struct shm_worker *w = claim_pass(s, tid, queue, true);

	if (!w)
		w = claim_pass(s, tid, queue, false);
	if (!w)
		errno = EBUSY;
	return w;
}

void shm_worker_release(struct shm_worker *w)
{
	__atomic_store_n(&w->owner, 0, __ATOMIC_RELEASE);
}

void shm_counts(const struct shm *s, uint64_t *target, uint64_t *cnt)
{
	unsigned int i, c;
	uint32_t t;

	for (c = 0; c < SHM_CNT_MAX; c++)
		cnt[c] = 0;
	for (i = 0; i < SHM_WORKERS; i++)
		for (c = 0; c < SHM_CNT_MAX; c++)
			cnt[c] += __atomic_load_n(&shm_worker_at(s, i)->cnt[c],
						  __ATOMIC_RELAXED);
	for (t = 0; t < s->n; t++) {
		uint64_t sum = slot_total(s, t), base = bases(s)[t];

		target[t] = sum > base ? sum - base : 0;
	}
}
