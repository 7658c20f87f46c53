/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bpfutil.h: what the loaders of nfqlb's BPF programs (shed.c,
 * fastpath.c) share. */
#ifndef NFQLB_BPFUTIL_H
#define NFQLB_BPFUTIL_H

/**
 * bpfutil_quiet - keep libbpf from printing: nfqlb's library code prints
 * nothing, and the loaders report libbpf's failures themselves
 */
void bpfutil_quiet(void);

#endif
