/* shm.c: a state object's life: create, attach with validation, detach
 * and remove (see shm.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/guard.h"
#include "shm/layout.h"
#include "shm/shm.h"

int shm_check_size(struct shm *s, char *why)
{
	struct stat st;

	if (fstat(s->fd, &st) < 0)
		return why_fail(errno, why, "fstat: %s", strerror(errno));
	if (!shm_lost(s) && (uint64_t)st.st_size != s->size)
		shm_guard_lose(s);
	if (shm_lost(s))
		return why_fail(EIO, why, "the object was resized to %llu bytes while in use (it had %llu)",
			    (unsigned long long)st.st_size, (unsigned long long)s->size);
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
		shm_layout_lookup(&s, 0)[i] = SHM_NO_SLOT;
	for (i = 0; i < SHM_WORKERS; i++)
		shm_layout_worker(&s, i)->queue = UINT32_MAX;
	h->version = SHM_VERSION;
	h->hdr_size = sizeof(*h);
	h->m = p->m;
	h->n = p->n;
	h->workers = SHM_WORKERS;
	h->hash_mode = p->mode;
	h->seed = p->seed;
	h->size = shm_layout_size(p->m, p->n);
	/* The magic goes last: until then a reader sees "not an nfqlb table". */
	__atomic_store_n(&h->magic, SHM_MAGIC, __ATOMIC_RELEASE);
}

static int create_new(const char *path, const struct shm_params *p)
{
	struct shm s = { .writable = true, .size = shm_layout_size(p->m, p->n) };
	int ret = -1, err;

	s.fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (s.fd < 0)
		return -1;
	if (fchmod(s.fd, 0600) < 0 || ftruncate(s.fd, (off_t)s.size) < 0 ||
	    shm_guard_map(&s) < 0)
		goto out;
	init_content(s.hdr, p);
	ret = 0;
	if (shm_lost(&s)) {
		errno = EIO;
		ret = -1;
	}
out:
	err = errno;
	shm_guard_unmap(&s);
	close(s.fd);
	if (ret < 0)
		shm_unlink(path);
	errno = err;
	return ret;
}

int shm_create(const char *name, const struct shm_params *p, bool force)
{
	char path[SHM_NAME_MAX + 2];

	if (shm_name_check(name) < 0 || shm_params_check(p) < 0)
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
		why_fail(errno, why, "%s", strerror(errno));
		return NULL;
	}
	if ((size_t)got < sizeof(h))
		st.st_size = got;
	if (shm_hdr_check(&h, (uint64_t)st.st_size, why) < 0)
		return NULL;
	s->size = (size_t)h.size;
	if (shm_guard_map(s) < 0) {
		why_fail(errno, why, "%s", strerror(errno));
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
		why_fail(EINVAL, why, "bad name \"%s\"", name);
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
		why_fail(errno, why, "%s", strerror(errno));
	err = errno;
	shm_detach(s);
	errno = err;
	return NULL;
}

void shm_detach(struct shm *s)
{
	if (!s)
		return;
	shm_guard_unmap(s);
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
