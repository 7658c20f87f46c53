/* shed.c: load shedding in XDP (see shed.h).  The program is a handful of
 * BPF instructions assembled here, so nothing but the kernel is needed. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nfqlb/shed.h"

#define SHED_MAX (UINT32_MAX - UINT32_MAX / 32)

struct shed {
	int map, prog, link;
};

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), \
						.src_reg = (s), .off = (o), .imm = (i) })
#define MOV_REG(d, s)	INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i)	INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_IMM(d, i)	INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define LDX(sz, d, s, o) INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define ST_W(d, o, i)	INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define JMP_REG(op, d, s, o) INSN(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define JMP_IMM(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define CALL(f)		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/*
 * if the frame is IPv4 or IPv6 and random() < share[0]: XDP_DROP
 * else XDP_PASS.  Jump offsets count from the next instruction; PASS is
 * instruction 22.
 */
static void program(struct bpf_insn *p, int map_fd)
{
	struct bpf_insn prog[] = {
		/* 0 */ MOV_REG(6, 1),
		/* 1 */ LDX(BPF_W, 2, 6, offsetof(struct xdp_md, data)),
		/* 2 */ LDX(BPF_W, 3, 6, offsetof(struct xdp_md, data_end)),
		/* 3 */ MOV_REG(4, 2),
		/* 4 */ ADD_IMM(4, ETH_HLEN),
		/* 5 */ JMP_REG(BPF_JGT, 4, 3, 16),
		/* 6 */ LDX(BPF_H, 4, 2, offsetof(struct ethhdr, h_proto)),
		/* 7 */ JMP_IMM(BPF_JEQ, 4, htons(ETH_P_IP), 1),
		/* 8 */ JMP_IMM(BPF_JNE, 4, htons(ETH_P_IPV6), 13),
		/* 9 */ ST_W(10, -4, 0),
		/* 10 */ MOV_REG(2, 10),
		/* 11 */ ADD_IMM(2, -4),
		/* 12 */ INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd),
		/* 13 */ INSN(0, 0, 0, 0, 0),
		/* 14 */ CALL(BPF_FUNC_map_lookup_elem),
		/* 15 */ JMP_IMM(BPF_JEQ, 0, 0, 6),
		/* 16 */ LDX(BPF_W, 6, 0, 0),
		/* 17 */ JMP_IMM(BPF_JEQ, 6, 0, 4),
		/* 18 */ CALL(BPF_FUNC_get_prandom_u32),
		/* 19 */ JMP_REG(BPF_JGE, 0, 6, 2),
		/* 20 */ MOV_IMM(0, XDP_DROP),
		/* 21 */ EXIT(),
		/* 22 */ MOV_IMM(0, XDP_PASS),
		/* 23 */ EXIT(),
	};

	memcpy(p, prog, sizeof(prog));
}

#define PROG_LEN 24

static int sys_bpf(int cmd, union bpf_attr *a)
{
	return (int)syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static int make_map(void)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = sizeof(uint32_t);
	a.value_size = sizeof(uint32_t);
	a.max_entries = 1;
	return sys_bpf(BPF_MAP_CREATE, &a);
}

static int load_prog(int map_fd, char *why)
{
	struct bpf_insn insns[PROG_LEN];
	static char log[4096];
	union bpf_attr a;
	int fd;

	program(insns, map_fd);
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = PROG_LEN;
	a.license = (uintptr_t)"Dual MIT/GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		snprintf(why, SHED_WHY_MAX, "the kernel refused the XDP program: %s",
			 strerror(errno));
	return fd;
}

static int attach(int prog, unsigned int ifindex, uint32_t mode)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_ifindex = ifindex;
	a.link_create.attach_type = BPF_XDP;
	a.link_create.flags = mode;
	return sys_bpf(BPF_LINK_CREATE, &a);
}

static int attach_any(struct shed *s, unsigned int ifindex, enum shed_mode mode,
		      bool *generic, char *why)
{
	s->link = -1;
	if (mode != SHED_GENERIC)
		s->link = attach(s->prog, ifindex, XDP_FLAGS_DRV_MODE);
	*generic = s->link < 0;
	if (s->link < 0 && mode != SHED_DRIVER)
		s->link = attach(s->prog, ifindex, XDP_FLAGS_SKB_MODE);
	if (s->link < 0) {
		snprintf(why, SHED_WHY_MAX, "cannot attach XDP%s: %s",
			 mode == SHED_DRIVER ? " in driver mode" : "", strerror(errno));
		return -1;
	}
	return 0;
}

int shed_mode_parse(const char *name)
{
	static const char *const names[] = { "auto", "driver", "generic" };
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

struct shed *shed_open(const char *ifname, enum shed_mode mode, bool *generic,
		       char *why)
{
	struct shed *s = calloc(1, sizeof(*s));
	unsigned int ifindex = if_nametoindex(ifname);
	int err;

	if (!s) {
		snprintf(why, SHED_WHY_MAX, "%s", strerror(errno));
		return NULL;
	}
	*s = (struct shed){ -1, -1, -1 };
	if (!ifindex) {
		snprintf(why, SHED_WHY_MAX, "no interface \"%s\" here", ifname);
		errno = ENODEV;
		goto fail;
	}
	s->map = make_map();
	if (s->map < 0) {
		snprintf(why, SHED_WHY_MAX, "cannot make a BPF map: %s", strerror(errno));
		goto fail;
	}
	s->prog = load_prog(s->map, why);
	if (s->prog < 0 || attach_any(s, ifindex, mode, generic, why) < 0)
		goto fail;
	return s;
fail:
	err = errno;
	shed_close(s);
	errno = err;
	return NULL;
}

int shed_set(struct shed *s, uint32_t share)
{
	uint32_t key = 0;
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)s->map;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)&share;
	a.flags = BPF_ANY;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0 ? -1 : 0;
}

void shed_close(struct shed *s)
{
	if (!s)
		return;
	if (s->link >= 0)
		close(s->link);
	if (s->prog >= 0)
		close(s->prog);
	if (s->map >= 0)
		close(s->map);
	free(s);
}

uint32_t shed_next(uint32_t share, const struct shed_sample *s)
{
	double pass = 1.0 - share / 4294967296.0;

	if (s->dropped)
		pass *= (double)s->queued / (double)(s->queued + s->dropped) * 15 / 16;
	else if (s->waiting > s->qlength / 2)
		pass *= 31.0 / 32;
	else if (s->waiting < s->qlength / 8)
		pass += (1.0 - pass) / 8 + 1.0 / 4096;
	if (pass >= 1.0)
		return 0;
	if (pass < 1.0 / 32)
		return SHED_MAX;
	return (uint32_t)((1.0 - pass) * 4294967296.0);
}
