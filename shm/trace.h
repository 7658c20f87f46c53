/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trace.h: the trace ring, where a worker writes its decisions while a
 * reader (`nfqlb trace`) asks for them.  Part of the shm module, but an
 * object of its own: the table's layout does not change.
 *
 * One ring per `nfqlb lb` process, the POSIX shared-memory object
 * TRACE_PREFIX "<pid>" (a suffix ".<k>" when another PID namespace has a
 * worker of that PID), mode 0600, hidden from `ls /dev/shm`.  Its owner
 * holds an open-file-description lock (F_OFD_SETLK, F_WRLCK) on the
 * object's first byte for as long as it runs, taken before the object has
 * a size: a ring with a size and the magic whose lock nobody holds is the
 * ring of a dead worker, which the next worker or reader removes
 * (trace_sweep()).  Objects of that name without the magic are never
 * touched.
 *
 * Arming: a reader stores a lease, a CLOCK_MONOTONIC deadline in ms, in
 * the header and renews it every TRACE_RENEW_MS while it reads.  The
 * worker writes records only while now < lease, and the first worker
 * thread to find the lease expired sets it back to 0 (compare and swap,
 * so a renewal in between wins).  Unarmed, a batch costs one relaxed load
 * and one branch; a reader that dies disarms the ring within
 * TRACE_LEASE_MS.  Two readers both renew the one lease.
 *
 * Writers (the worker's queue threads) take a position with one atomic
 * fetch-and-add on head and write the record at position % records under
 * the record's own sequence number, a seqlock per record: odd while it is
 * written, 2 * position + 2 once complete.  Readers never write anything
 * but the lease: they follow head with cursors of their own, detect
 * records overwritten before or while they copied them, and count those
 * as lost.  Nothing ever waits for a reader.
 *
 * Library code: never prints or exits; returns -1 (or NULL) and sets
 * errno, and fills `why` (WHY_MAX bytes) with a one-line reason.
 */
#ifndef NFQLB_SHM_TRACE_H
#define NFQLB_SHM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "maglev/hash.h"
#include "shm/shm.h"

#define TRACE_PREFIX ".nfqlb-trace-"	/* object names: TRACE_PREFIX "<pid>[.<k>]" */
#define TRACE_MAGIC 0x5254464eU		/* "NFTR" in little-endian memory */
#define TRACE_VERSION 1
#define TRACE_RECORDS 4096		/* records of a worker's ring */
#define TRACE_RECORDS_MAX (1u << 20)	/* the most a ring may have */
#define TRACE_LEASE_MS 1000		/* how long one renewal arms a ring */
#define TRACE_RENEW_MS 250		/* how often a reader renews */
#define TRACE_FLOW_LEN 64		/* FLOW_NAME_MAX + 1 (flows/flow.h) */
#define TRACE_NAME_LEN 80		/* an object's name, "/" included */

/* What a worker serves. */
enum trace_serves {
	TRACE_SERVES_TABLE = 1,		/* one table (lb --shm) */
	TRACE_SERVES_FLOWS = 2,		/* a flow set (lb --flows) */
};

/* The verdict a record tells. */
enum trace_verdict {
	TRACE_ACCEPT = 0,
	TRACE_DROP = 1,
};

/* One decision: 128 bytes, two records per 256 bytes of cache. */
struct trace_rec {
	uint32_t seq;		/* atomic: odd while written, else 2 * pos + 2
				 * (mod 2^32); 0 never written */
	uint16_t queue;		/* NFQUEUE number */
	uint8_t kind;		/* enum pkt_kind (nfqlb/pkt.h) */
	uint8_t verdict;	/* enum trace_verdict */
	uint32_t target;	/* the target's id, or 0 when none was found */
	uint32_t mark;		/* the mark the verdict set; 0 for none */
	uint64_t ns;		/* CLOCK_REALTIME, ns since the epoch */
	uint32_t key[HASH_FLOW_WORDS];	/* the packet's key (struct pkt_key) */
	char flow[TRACE_FLOW_LEN];	/* the flow; "" when serving one table */
};

_Static_assert(sizeof(struct trace_rec) == 128, "a record is 128 bytes");

/* The ring's header; the records follow at TRACE_HDR_SIZE. */
struct trace_hdr {
	uint32_t magic;		/* atomic; written last */
	uint32_t version;
	uint32_t hdr_size;	/* TRACE_HDR_SIZE */
	uint32_t rec_size;	/* sizeof(struct trace_rec) */
	uint32_t records;	/* a power of two */
	uint32_t serves;	/* enum trace_serves */
	int32_t pid;		/* the worker, in its PID namespace */
	uint32_t pad0;
	uint64_t pidns;		/* inode of its PID namespace; 0 if unknown */
	char name[SHM_NAME_MAX + 1];	/* the table or flow set it serves */
	uint8_t pad1[64 - (SHM_NAME_MAX + 1 + 40) % 64];
	uint64_t lease;		/* atomic, own cache line: CLOCK_MONOTONIC ms
				 * up to which the ring is armed; 0: unarmed */
	uint8_t pad2[56];
	uint64_t head;		/* atomic, own cache line: the next position;
				 * also the records written, in all */
	uint8_t pad3[56];
};

#define TRACE_HDR_SIZE 4096

_Static_assert(sizeof(struct trace_hdr) <= TRACE_HDR_SIZE, "the header fits its page");

/* An open ring, the worker's or a reader's.  Treat every field as
 * read-only. */
struct trace {
	char name[TRACE_NAME_LEN];	/* "/.nfqlb-trace-...", for shm_open() */
	int fd;
	bool owner;		/* made by trace_create(): unlinked on destroy */
	struct trace_hdr *hdr;
	struct trace_rec *rec;
	uint32_t mask;		/* records - 1, from the creator or validated */
	size_t size;
};

/* What trace_list() finds about one live ring. */
struct trace_info {
	char name[TRACE_NAME_LEN];	/* the object, as for trace_open() */
	int32_t pid;
	uint64_t pidns;
	enum trace_serves serves;
	char serves_name[SHM_NAME_MAX + 1];
	uint64_t written;	/* records written since the worker started */
	uint64_t lease;		/* CLOCK_MONOTONIC ms; 0: unarmed */
};

/**
 * trace_create - make the calling worker's ring, empty and unarmed
 * @pid: the PID to record and name it by (getpid())
 * @serves: what the worker serves
 * @name: the table's or the flow set's name (at most SHM_NAME_MAX bytes)
 * @records: a power of two, 2..TRACE_RECORDS_MAX (TRACE_RECORDS)
 * @why: filled with the reason on failure
 *
 * A dead worker's ring under the name is removed first.
 * Returns the handle, or NULL with errno EINVAL (bad records or name),
 * EEXIST (every suffix is taken by a live worker or a foreign object) or
 * an error from shm_open(), fcntl(), ftruncate() or mmap().
 */
struct trace *trace_create(int32_t pid, enum trace_serves serves, const char *name,
			   uint32_t records, char *why);

/**
 * trace_destroy - the worker's ring goes: unlink, unmap, close
 * @t: the handle from trace_create(), or NULL
 */
void trace_destroy(struct trace *t);

/**
 * trace_armed_at - whether the worker should write records now
 * @t: the worker's handle
 * @now_ms: CLOCK_MONOTONIC in ms
 *
 * Resets an expired lease to 0, unless a reader renewed it meanwhile.
 */
bool trace_armed_at(struct trace *t, uint64_t now_ms);

/* The clock check of trace_batch_armed(), once a lease is set. */
bool trace_batch_armed_slow(struct trace *t);

/**
 * trace_batch_armed - the worker's check, once per batch: whether to write
 * this batch's decisions
 * @t: the worker's handle, or NULL (no ring: tracing off)
 *
 * Unarmed, one relaxed load of the lease and one branch; the clock is read
 * only while a lease is set (then as trace_armed_at()).
 */
static inline bool trace_batch_armed(struct trace *t)
{
	if (__builtin_expect(t != NULL &&
			     __atomic_load_n(&t->hdr->lease, __ATOMIC_RELAXED) != 0, 0))
		return trace_batch_armed_slow(t);
	return false;
}

/**
 * trace_put - write one record (the worker, while armed)
 * @t: the worker's handle
 * @r: the record; its seq is ignored
 *
 * Lock-free: one fetch-and-add; never waits.  Safe from several threads.
 */
void trace_put(struct trace *t, const struct trace_rec *r);

/**
 * trace_written - the records written to a ring so far
 * @t: any handle
 */
uint64_t trace_written(const struct trace *t);

/**
 * trace_sweep - remove the rings of dead workers
 * @removed: set to the number removed, or NULL
 *
 * Returns 0, or -1 with errno from opendir().
 */
int trace_sweep(unsigned int *removed);

/**
 * trace_list - the rings of live workers
 * @out: written, up to max entries, in no particular order
 * @max: room in out
 *
 * Rings of dead workers are removed (trace_sweep()); rings in the middle
 * of their creation, and objects that are not rings, are skipped.
 * Returns the number found (which may exceed max: only max are written),
 * or -1 with errno from opendir().
 */
int trace_list(struct trace_info *out, size_t max);

/**
 * trace_open - open a ring for reading and arming
 * @name: the object ("/.nfqlb-trace-...", from trace_list())
 * @why: filled with the reason on failure
 *
 * Returns the handle, or NULL with errno ENOENT, EACCES, EBADMSG (not a
 * valid ring) or another system error.
 */
struct trace *trace_open(const char *name, char *why);

/**
 * trace_close - unmap and close a reader's handle
 * @t: the handle, or NULL
 */
void trace_close(struct trace *t);

/**
 * trace_alive - whether the ring's worker still runs (holds the lock)
 * @t: a reader's handle (the owner's own handle does not see its lock)
 *
 * Returns 1, 0, or -1 with errno from fcntl().
 */
int trace_alive(const struct trace *t);

/**
 * trace_arm - arm the ring for TRACE_LEASE_MS from now_ms
 * @t: a reader's handle
 * @now_ms: CLOCK_MONOTONIC in ms
 *
 * Never shortens a lease another reader set.
 */
void trace_arm(struct trace *t, uint64_t now_ms);

/**
 * trace_read - the next record after a reader's cursor
 * @t: a reader's handle
 * @pos: the cursor (start it at trace_written()); advanced
 * @out: written with the record when one is returned
 * @lost: increased by the records that were overwritten before they could
 *        be read (the reader fell behind, or a writer lapped the copy)
 *
 * Returns 1 with a record, 0 when there is none yet (the next one may be
 * in the middle of being written: call again later).
 */
int trace_read(const struct trace *t, uint64_t *pos, struct trace_rec *out,
	       uint64_t *lost);

/**
 * trace_now_ms - CLOCK_MONOTONIC in ms, the clock of the lease
 */
uint64_t trace_now_ms(void);

#endif
