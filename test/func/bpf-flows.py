#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bpf-flows.py: the flows of t-bpf-flows, their marks, and their packets.

usage: bpf-flows.py plan GROUPS TABLE=SHOW_JSON...
       bpf-flows.py send FLOWS

plan: GROUPS has one line per group of flows, "SRC DST PROTO DPORT TABLE
FIRST COUNT": COUNT flows from SRC, source ports FIRST upwards, to DST:DPORT
over PROTO (tcp or udp), which the flow set gives to TABLE.  Each TABLE's
`nfqlb show --json` is in SHOW_JSON.  Prints one line per flow, "SRC DST
PROTO SPORT DPORT MARK": the mark the reference model (test/ref) predicts
for the flow in its table.

send: one packet per line of FLOWS (as plan prints them): a UDP datagram
from its own socket bound to SRC:SPORT, or for TCP the SYN of a
non-blocking connect() from that address and port, its socket closed at
once (a socket closed in SYN-SENT sends nothing more).  Exit 0, or 1 with
the error.
"""
import errno
import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref"))
from predict import PROTOS, Model  # noqa: E402


def plan(groups, shows):
    models = {}
    for arg in shows:
        name, _, path = arg.partition("=")
        with open(path) as f:
            models[name] = Model(json.load(f))
    for line in open(groups):
        if not line.strip():
            continue
        src, dst, proto, dport, table, first, count = line.split()
        for sport in range(int(first), int(first) + int(count)):
            mark = models[table].target(src, dst, PROTOS[proto], sport, int(dport))
            print(src, dst, proto, sport, dport, mark)


def send_one(src, dst, proto, sport, dport):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, kind)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, sport))
        if proto == "tcp":
            s.setblocking(False)
            rc = s.connect_ex((dst, dport))
            if rc != errno.EINPROGRESS:
                raise OSError(rc, os.strerror(rc))
        else:
            s.sendto(b"x\n", (dst, dport))
    finally:
        s.close()


def send(path):
    for line in open(path):
        if line.strip():
            src, dst, proto, sport, dport, _ = line.split()
            send_one(src, dst, proto, int(sport), int(dport))


def main():
    try:
        if len(sys.argv) >= 3 and sys.argv[1] == "plan":
            plan(sys.argv[2], sys.argv[3:])
        elif len(sys.argv) == 3 and sys.argv[1] == "send":
            send(sys.argv[2])
        else:
            print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
            return 2
    except (OSError, ValueError, KeyError) as e:
        print("bpf-flows.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
