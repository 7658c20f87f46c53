#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Predict, with the reference model alone (maglev_ref.py), the target nfqlb
gives each flow, so that a test can choose flows whose targets it knows and
check every one, instead of hoping that random source ports spread.

usage: predict.py --src ADDR --dst ADDR [--proto tcp|udp|NUM] [--dport N]
                  (--ports LIST | --first PORT --per-target K) [--frag]

Reads the table's `nfqlb show --json` on stdin and takes from it only M, the
seed, the hash mode and the active targets with their weights: the table is
built again by maglev_ref.build(), never read from nfqlb (when the JSON
also has nfqlb's lookup, the two must agree, or this exits 1).

--ports LIST     predict these source ports (comma-separated, ranges A-B)
--first, --per-target
                 choose source ports from PORT upwards: the first K that
                 land on each active target (every target gets exactly K)
--frag           the flow key of a fragment: no ports

Prints "SPORT ID" per flow, in port order.  Exit 0, 1 on an error (no
active target, ports run out, the lookups differ), 2 usage.
"""
import argparse
import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from maglev_ref import build, flow_hash, reduce  # noqa: E402

PROTOS = {"tcp": 6, "udp": 17, "icmp": 1, "sctp": 132}


def words(addr):
    """An address as the key's four words: IPv4 as ::ffff:a.b.c.d."""
    a = ipaddress.ip_address(addr)
    if a.version == 4:
        return [0, 0, 0xFFFF, int(a)]
    n = int(a)
    return [(n >> s) & 0xFFFFFFFF for s in (96, 64, 32, 0)]


def ports_of(text):
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    if not out or min(out) < 1 or max(out) > 65535:
        raise ValueError("ports must be in 1..65535")
    return out


class Model:
    """The table of a `show --json`, rebuilt, and the flow hash."""

    def __init__(self, show):
        self.m, self.seed = show["M"], show["seed"]
        self.mode = show["hash"]
        targets = [(t["id"], t["weight"]) for t in show["targets"]]
        if not targets:
            raise ValueError("the table has no active target")
        self.ids = sorted(t for t, _ in targets)
        self.lookup = build(self.m, self.seed, targets)
        if "lookup" in show and show["lookup"] != self.lookup:
            raise ValueError("nfqlb's lookup differs from the reference")

    def target(self, src, dst, proto, sport, dport):
        w = words(src) + words(dst) + [(sport << 16) | dport, proto]
        return self.lookup[reduce(flow_hash(w, self.mode, self.seed), self.m)]


def choose(model, key, first, k):
    """The first k ports from `first` up that land on each target."""
    need = {t: k for t in model.ids}
    chosen = []
    for p in range(first, 65536):
        t = model.target(key[0], key[1], key[2], p, key[3])
        if need.get(t, 0) > 0:
            need[t] -= 1
            chosen.append((p, t))
            if not any(need.values()):
                return chosen
    raise ValueError("ports ran out from %d: still need %s" % (first, need))


def main():
    ap = argparse.ArgumentParser(add_help=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--proto", default="tcp")
    ap.add_argument("--dport", type=int, default=80)
    ap.add_argument("--ports")
    ap.add_argument("--first", type=int)
    ap.add_argument("--per-target", type=int)
    ap.add_argument("--frag", action="store_true")
    a = ap.parse_args()
    if bool(a.ports) == bool(a.first and a.per_target):
        ap.error("give --ports, or --first and --per-target")
    proto = PROTOS.get(a.proto) or int(a.proto)
    try:
        model = Model(json.load(sys.stdin))
        dport = 0 if a.frag else a.dport
        key = (a.src, a.dst, proto, dport)
        if a.ports:
            flows = [(p, model.target(a.src, a.dst, proto,
                                      0 if a.frag else p, dport))
                     for p in ports_of(a.ports)]
        else:
            flows = choose(model, key, a.first, a.per_target)
    except (ValueError, KeyError) as e:
        print("predict.py: %s" % e, file=sys.stderr)
        return 1
    for p, t in flows:
        print(p, t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
