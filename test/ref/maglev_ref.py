#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An independent implementation of nfqlb's table, written from
docs/maglev.md's "The Maglev algorithm" section alone.  Used by the function
tests to check that the C code and the specification agree.

usage: maglev_ref.py M SEED ID[:WEIGHT]...   prints the lookup as ids, one line
       maglev_ref.py --flow SEED MODE M W0..W9  prints hash and entry index
"""
import sys

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(x):
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & MASK
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & MASK
    x ^= x >> 33
    return x


def target_hashes(tid, seed):
    key = (seed << 32) | tid
    return mix64(key), mix64(key ^ GOLDEN)


SCTP = 132


def flow_hash(words, mode, seed):
    last = {"5tuple": 10, "addr": 8, "src": 4, "sctp": 10}[mode]
    first = 0
    if mode == "sctp" and words[9] == SCTP and words[8] != 0:
        first = 8                          # ports and protocol only
    w = [v if first <= i < last else 0 for i, v in enumerate(words)]
    h = GOLDEN ^ seed
    for i in range(0, 10, 2):
        h = mix64(h ^ ((w[i] << 32) | w[i + 1]))
    return h


def reduce(h, m):
    return ((h >> 32) * m) >> 32


def build(m, seed, targets):
    targets = sorted(targets)              # ascending id
    wmax = max((w for _, w in targets), default=0)
    perm = []
    for tid, w in targets:
        h1, h2 = target_hashes(tid, seed)
        perm.append([h1 % m, h2 % (m - 1) + 1])
    table = [0] * m
    credit = [0] * len(targets)
    filled = 0
    while targets and filled < m:
        for i, (tid, w) in enumerate(targets):
            if filled == m:
                break
            credit[i] += w
            if credit[i] < wmax:
                continue
            credit[i] -= wmax
            c, skip = perm[i]
            while table[c] != 0:
                c = (c + skip) % m
            table[c] = tid
            perm[i][0] = (c + skip) % m
            filled += 1
    return table


def main(argv):
    if argv[1] == "--flow":
        seed, mode, m = int(argv[2], 0), argv[3], int(argv[4], 0)
        h = flow_hash([int(x, 0) for x in argv[5:15]], mode, seed)
        print(h, reduce(h, m))
        return
    m, seed = int(argv[1]), int(argv[2], 0)
    targets = []
    for a in argv[3:]:
        tid, _, w = a.partition(":")
        targets.append((int(tid, 0), int(w or "1")))
    print(" ".join(str(x) for x in build(m, seed, targets)))


if __name__ == "__main__":
    main(sys.argv)
