/* shed.c: load shedding in XDP or tc (see shed.h).  The programs are a
 * handful of BPF instructions assembled here, so nothing but the kernel is
 * needed. */
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

/* The uapi value of BPF_TCX_INGRESS (Linux 6.6), which older headers lack. */
#define SHED_TCX_INGRESS 46
#define TCX_NEXT (-1)
#define TCX_DROP 2

/*
 * The common tail: if random() < share[0], return `drop`, else `pass`.
 * The heads before it let only IPv4 and IPv6 through to it and jump to its
 * PASS, 13 instructions after its first, for the rest.
 */
#define SHED_TAIL(map_fd, drop, pass)						\
	/* +0 */ ST_W(10, -4, 0),						\
	/* +1 */ MOV_REG(2, 10),						\
	/* +2 */ ADD_IMM(2, -4),						\
	/* +3 */ INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd), \
	/* +4 */ INSN(0, 0, 0, 0, 0),						\
	/* +5 */ CALL(BPF_FUNC_map_lookup_elem),				\
	/* +6 */ JMP_IMM(BPF_JEQ, 0, 0, 6),					\
	/* +7 */ LDX(BPF_W, 6, 0, 0),						\
	/* +8 */ JMP_IMM(BPF_JEQ, 6, 0, 4),					\
	/* +9 */ CALL(BPF_FUNC_get_prandom_u32),				\
	/* +10 */ JMP_REG(BPF_JGE, 0, 6, 2),					\
	/* +11 */ MOV_IMM(0, drop),						\
	/* +12 */ EXIT(),							\
	/* +13 PASS */ MOV_IMM(0, pass),					\
	/* +14 */ EXIT()

#define TAIL_LEN 15
#define XDP_LEN (9 + TAIL_LEN)
#define TC_LEN (3 + TAIL_LEN)
#define PROG_MAX XDP_LEN

/* XDP: the Ethernet type from the frame, after checking it is there. */
static unsigned int xdp_program(struct bpf_insn *p, int map_fd)
{
	struct bpf_insn prog[XDP_LEN] = {
		/* 0 */ MOV_REG(6, 1),
		/* 1 */ LDX(BPF_W, 2, 6, offsetof(struct xdp_md, data)),
		/* 2 */ LDX(BPF_W, 3, 6, offsetof(struct xdp_md, data_end)),
		/* 3 */ MOV_REG(4, 2),
		/* 4 */ ADD_IMM(4, ETH_HLEN),
		/* 5 */ JMP_REG(BPF_JGT, 4, 3, 16),		/* to PASS */
		/* 6 */ LDX(BPF_H, 4, 2, offsetof(struct ethhdr, h_proto)),
		/* 7 */ JMP_IMM(BPF_JEQ, 4, htons(ETH_P_IP), 1),
		/* 8 */ JMP_IMM(BPF_JNE, 4, htons(ETH_P_IPV6), 13),
		SHED_TAIL(map_fd, XDP_DROP, XDP_PASS),
	};

	memcpy(p, prog, sizeof(prog));
	return XDP_LEN;
}

/* tc (tcx ingress): the protocol the driver recorded in the skb. */
static unsigned int tc_program(struct bpf_insn *p, int map_fd)
{
	struct bpf_insn prog[TC_LEN] = {
		/* 0 */ LDX(BPF_W, 4, 1, offsetof(struct __sk_buff, protocol)),
		/* 1 */ JMP_IMM(BPF_JEQ, 4, htons(ETH_P_IP), 1),
		/* 2 */ JMP_IMM(BPF_JNE, 4, htons(ETH_P_IPV6), 13),
		SHED_TAIL(map_fd, TCX_DROP, TCX_NEXT),
	};

	memcpy(p, prog, sizeof(prog));
	return TC_LEN;
}

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

static int load_prog(int map_fd, bool tc)
{
	struct bpf_insn insns[PROG_MAX];
	static char log[4096];
	unsigned int n = tc ? tc_program(insns, map_fd) : xdp_program(insns, map_fd);
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = tc ? BPF_PROG_TYPE_SCHED_CLS : BPF_PROG_TYPE_XDP;
	a.expected_attach_type = tc ? SHED_TCX_INGRESS : BPF_XDP;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = n;
	a.license = (uintptr_t)"Dual MIT/GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	return sys_bpf(BPF_PROG_LOAD, &a);
}

static int attach(int prog, unsigned int ifindex, uint32_t type, uint32_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_ifindex = ifindex;
	a.link_create.attach_type = type;
	a.link_create.flags = flags;
	return sys_bpf(BPF_LINK_CREATE, &a);
}

/* Load the program of one kind and attach it; 0, or -1 with errno. */
static int try_kind(struct shed *s, unsigned int ifindex, bool tc)
{
	int err;

	s->prog = load_prog(s->map, tc);
	if (s->prog < 0)
		return -1;
	s->link = tc ? attach(s->prog, ifindex, SHED_TCX_INGRESS, 0) :
		       attach(s->prog, ifindex, BPF_XDP, XDP_FLAGS_DRV_MODE);
	if (s->link >= 0)
		return 0;
	err = errno;
	close(s->prog);
	s->prog = -1;
	errno = err;
	return -1;
}

static int attach_any(struct shed *s, unsigned int ifindex, enum shed_mode mode,
		      bool *tc, char *why)
{
	*tc = false;
	if (mode != SHED_TC && try_kind(s, ifindex, false) == 0)
		return 0;
	if (mode == SHED_XDP) {
		snprintf(why, WHY_MAX, "cannot attach XDP in driver mode: %s",
			 strerror(errno));
		return -1;
	}
	*tc = true;
	if (try_kind(s, ifindex, true) == 0)
		return 0;
	snprintf(why, WHY_MAX, "cannot attach to tc ingress (tcx): %s", strerror(errno));
	return -1;
}

int shed_mode_parse(const char *name)
{
	static const char *const names[] = { "auto", "xdp", "tc" };
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

struct shed *shed_open(const char *ifname, enum shed_mode mode, bool *tc,
		       char *why)
{
	struct shed *s = calloc(1, sizeof(*s));
	unsigned int ifindex = if_nametoindex(ifname);
	int err;

	if (!s) {
		snprintf(why, WHY_MAX, "%s", strerror(errno));
		return NULL;
	}
	*s = (struct shed){ -1, -1, -1 };
	if (!ifindex) {
		snprintf(why, WHY_MAX, "no interface \"%s\" here", ifname);
		errno = ENODEV;
		goto fail;
	}
	s->map = make_map();
	if (s->map < 0) {
		snprintf(why, WHY_MAX, "cannot make a BPF map: %s", strerror(errno));
		goto fail;
	}
	if (attach_any(s, ifindex, mode, tc, why) < 0)
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
