#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gen-corpus.py: write the seed corpus for the fuzz targets.

    test/fuzz/gen-corpus.py [DIR]      (default: test/fuzz/corpus)

Writes DIR/pkt/* (crafted IPv4 and IPv6 packets, from the IP header on),
DIR/shm/* (a flags byte, see fuzz_shm.c, then a state file, or a flow
set's buffer) and DIR/cli/*
(command lines, arguments separated by NUL).  The output depends on
nothing but this script: run it again after changing it, and commit the
files.  Files it does not write are left alone: those are inputs the
fuzzers found, kept as regression seeds.  Layouts follow nfqlb/pkt.h and
shm/shm.h and flows/flow.h.
"""
import os
import struct
import sys

# ------------------------------------------------------------ packets

SRC4, DST4 = bytes([10, 0, 0, 1]), bytes([192, 168, 10, 10])
ROUTER4 = bytes([172, 16, 0, 1])
SRC6 = bytes.fromhex("20010db8000100020003000400050006")
DST6 = bytes.fromhex("fd001111222233334444555566667777")
ROUTER6 = bytes.fromhex("20010db8ffff00000000000000000001")
TCP, UDP, SCTP, UDPLITE, ICMP, ICMP6 = 6, 17, 132, 136, 1, 58
HBH, ROUT, FRAG, AH, DSTO, NONE = 0, 43, 44, 51, 60, 59


def ip4(proto, payload, src=SRC4, dst=DST4, ihl=5, tot=None, frag=0,
        opts=b""):
    opts = opts.ljust(ihl * 4 - 20, b"\x01")[: max(ihl * 4 - 20, 0)]
    hdr_len = 20 + len(opts)
    if tot is None:
        tot = hdr_len + len(payload)
    hdr = struct.pack(">BBHHHBBH4s4s", 0x40 | (ihl & 15), 0, tot & 0xffff,
                      0x1234, frag, 64, proto, 0, src, dst)
    return hdr + opts + payload


def ip6(nh, payload, src=SRC6, dst=DST6, plen=None):
    if plen is None:
        plen = len(payload)
    return struct.pack(">IHBB16s16s", 0x60000000, plen & 0xffff, nh, 64,
                       src, dst) + payload


def ext(nh, units=0, fill=b""):
    """Hop-by-hop, routing or destination options: 8 * (units + 1) bytes."""
    return bytes([nh, units]) + fill.ljust(6 + 8 * units, b"\x00")


def frag6(nh, offset=0, more=False, ident=7):
    return struct.pack(">BBHI", nh, 0, offset << 3 | int(more), ident)


def ah(nh, words=4):
    """AH: payload length in 4-octet units minus 2."""
    return bytes([nh, words - 2]) + bytes(4 * words - 2)


def tcp(sport=40000, dport=80, doff=5):
    return struct.pack(">HHIIBBHHH", sport, dport, 1, 0, doff << 4, 0x02,
                       65535, 0, 0) + bytes(max(doff - 5, 0) * 4)


def udp(sport=40000, dport=80, data=b"x"):
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


def sctp(sport=40000, dport=80):
    return struct.pack(">HHII", sport, dport, 0xdeadbeef, 0)


def icmp(typ, code=0, rest=b"\x00\x00\x00\x00", data=b""):
    return struct.pack(">BBH", typ, code, 0) + rest + data


def echo(typ, ident=0x4242, seq=1):
    return icmp(typ, 0, struct.pack(">HH", ident, seq), b"ping")


def sctp_udp():
    p = {}
    inner = sctp(5000, 38412) + bytes([1, 0, 0, 20]) + bytes(16)  # an INIT
    enc = udp(9899, 9899, inner)
    p["v4-sctp-udp"] = ip4(UDP, enc)
    p["v6-sctp-udp"] = ip6(UDP, enc)
    p["v4-sctp-udp-5000"] = ip4(UDP, udp(9899, 5000, inner))
    p["v4-sctp-udp-other-port"] = ip4(UDP, udp(9899, 9900, inner))
    p["v4-sctp-udp-len-short"] = ip4(UDP, enc[:4] + struct.pack(">H", 12) +
                                     enc[6:])
    p["v6-sctp-udp-cut"] = ip6(UDP, enc)[:40 + 8 + 6]
    # Fragments: the first holds the UDP and SCTP common headers
    p["v4-sctp-udp-frag-first"] = ip4(UDP, enc[:24], frag=0x2000)
    p["v4-sctp-udp-frag-later"] = ip4(UDP, enc[24:], frag=0x0003)
    p["v6-sctp-udp-frag-first"] = ip6(FRAG, frag6(UDP, 0, True) + enc[:24])
    p["v6-sctp-udp-frag-later"] = ip6(FRAG, frag6(UDP, 3, False) + enc[24:])
    # ICMP errors: one about an association's reply; one whose own ICMP
    # header reads as UDP 769 -> 9899 of the key it gives (checksum 9899):
    # never re-keyed
    reply = ip4(UDP, udp(9899, 9899, sctp(38412, 5000)), src=DST4, dst=SRC4)
    p["v4-icmp-quote-sctp-udp"] = ip4(ICMP, icmp(3, 4, b"\x00\x00\x05\xdc",
                                                 reply), src=ROUTER4)
    quoted = ip4(UDP, udp(9899, 769, bytes(12)), src=DST4, dst=SRC4)
    p["v4-icmp-reads-as-sctp-udp"] = ip4(ICMP, struct.pack(
        ">BBH", 3, 1, 9899) + b"\x00\x30\x00\x00" + quoted, src=ROUTER4)
    return p


def packets():
    p = {}
    # IPv4, every transport
    p["v4-tcp"] = ip4(TCP, tcp())
    p["v4-tcp-options"] = ip4(TCP, tcp(doff=8))
    p["v4-tcp-doff4"] = ip4(TCP, tcp(doff=4))
    p["v4-udp"] = ip4(UDP, udp())
    p["v4-sctp"] = ip4(SCTP, sctp())
    p["v4-udplite"] = ip4(UDPLITE, udp())
    p["v4-gre"] = ip4(47, b"\x00\x00\x08\x00")
    p["v4-esp"] = ip4(50, bytes(16))
    p["v4-icmp-echo"] = ip4(ICMP, echo(8))
    p["v4-icmp-reply"] = ip4(ICMP, echo(0))
    p["v4-icmp-timestamp"] = ip4(ICMP, icmp(13, 0, bytes(4), bytes(12)))
    p["v4-ports-cut"] = ip4(TCP, tcp())[:22]
    # IPv4 header oddities
    p["v4-ihl6-options"] = ip4(UDP, udp(), ihl=6, opts=b"\x94\x04\x00\x00")
    p["v4-ihl15-short"] = ip4(UDP, udp(), ihl=15)[:40]
    p["v4-ihl4"] = ip4(UDP, udp(), ihl=4)
    p["v4-totlen-below-ihl"] = ip4(UDP, udp(), tot=12)
    p["v4-totlen-zero-gso"] = ip4(TCP, tcp(), tot=0)
    p["v4-totlen-over-capture"] = ip4(UDP, udp(data=bytes(100)))[:60]
    p["v4-padding"] = ip4(UDP, udp()) + bytes(18)
    p["v4-header-only"] = ip4(TCP, b"")
    p["v4-truncated-header"] = ip4(TCP, tcp())[:12]
    p["v4-long-over-copy-range"] = ip4(UDP, udp(data=bytes(600)))
    # IPv4 fragments
    p["v4-frag-first"] = ip4(UDP, udp(data=bytes(32)), frag=0x2000)
    p["v4-frag-later"] = ip4(UDP, bytes(32), frag=0x0004)
    p["v4-frag-last"] = ip4(UDP, bytes(8), frag=0x0008)
    p["v4-frag-tiny-overlap"] = ip4(TCP, bytes(8), frag=0x2001)
    # ICMPv4 errors and what they quote
    inner_tcp = ip4(TCP, tcp(80, 40000), src=DST4, dst=SRC4)
    inner_udp = ip4(UDP, udp(80, 40000), src=DST4, dst=SRC4)
    p["v4-icmp-unreach-tcp"] = ip4(ICMP, icmp(3, 3, data=inner_tcp[:28]),
                                   src=ROUTER4)
    p["v4-icmp-fragneeded-tcp"] = ip4(ICMP, icmp(3, 4, b"\x00\x00\x05\xdc",
                                                 inner_tcp), src=ROUTER4)
    p["v4-icmp-ttl-udp"] = ip4(ICMP, icmp(11, 0, data=inner_udp),
                               src=ROUTER4)
    p["v4-icmp-param-echo"] = ip4(ICMP, icmp(12, 0, data=ip4(
        ICMP, echo(8), src=DST4, dst=SRC4)), src=ROUTER4)
    p["v4-icmp-quote-cut"] = ip4(ICMP, icmp(3, 1, data=inner_tcp[:12]),
                                 src=ROUTER4)
    p["v4-icmp-quote-none"] = ip4(ICMP, icmp(3, 1), src=ROUTER4)
    p["v4-icmp-quote-v6"] = ip4(ICMP, icmp(3, 1, data=ip6(TCP, tcp())[:48]))
    p["v4-icmp-quote-doff3"] = ip4(ICMP, icmp(3, 3, data=ip4(
        TCP, tcp(doff=3), src=DST4, dst=SRC4)), src=ROUTER4)
    p["v4-icmp-quote-frag"] = ip4(ICMP, icmp(11, 1, data=ip4(
        UDP, bytes(8), src=DST4, dst=SRC4, frag=0x0010)), src=ROUTER4)
    p["v4-icmp-quote-error"] = ip4(ICMP, icmp(3, 1, data=ip4(
        ICMP, icmp(3, 1, data=inner_udp), src=DST4, dst=SRC4)), src=ROUTER4)
    # IPv6, every transport
    p["v6-tcp"] = ip6(TCP, tcp())
    p["v6-tcp-doff3"] = ip6(TCP, tcp(doff=3))
    p["v6-udp"] = ip6(UDP, udp())
    p["v6-sctp"] = ip6(SCTP, sctp())
    p["v6-udplite"] = ip6(UDPLITE, udp())
    p["v6-icmp-echo"] = ip6(ICMP6, echo(128))
    p["v6-icmp-reply"] = ip6(ICMP6, echo(129))
    p["v6-icmp-nd"] = ip6(ICMP6, icmp(135, 0, bytes(4), DST6))
    p["v6-no-next"] = ip6(NONE, b"")
    p["v6-mobility"] = ip6(135, bytes(8))
    p["v6-jumbo-plen0"] = ip6(TCP, tcp(), plen=0)
    p["v6-plen-over-capture"] = ip6(UDP, udp(data=bytes(200)))[:60]
    p["v6-padding"] = ip6(UDP, udp()) + bytes(10)
    p["v6-truncated-header"] = ip6(TCP, tcp())[:30]
    # IPv6 extension header chains
    p["v6-hbh-tcp"] = ip6(HBH, ext(TCP) + tcp())
    p["v6-hbh-dst-rout-udp"] = ip6(HBH, ext(DSTO, 1) + ext(ROUT) +
                                   ext(UDP, 2) + udp())
    p["v6-ah-tcp"] = ip6(AH, ah(TCP) + tcp())
    p["v6-dst-ah-sctp"] = ip6(DSTO, ext(AH) + ah(SCTP, 6) + sctp())
    chain = b"".join(ext(DSTO) for _ in range(8)) + ext(TCP)
    p["v6-chain-9-headers"] = ip6(DSTO, chain + tcp())
    p["v6-chain-8-headers"] = ip6(DSTO, chain[8:] + tcp())
    p["v6-chain-past-end"] = ip6(HBH, ext(TCP, 4)[:16])
    p["v6-chain-past-capture"] = ip6(HBH, ext(TCP, 30) + tcp())[:80]
    p["v6-chain-loop-hbh"] = ip6(HBH, b"".join(ext(HBH) for _ in range(12)))
    p["v6-ext-len-huge"] = ip6(ROUT, bytes([TCP, 255]) + bytes(6) + tcp())
    # IPv6 fragments
    p["v6-frag-first"] = ip6(FRAG, frag6(UDP, 0, True) + udp(data=bytes(16)))
    p["v6-frag-later"] = ip6(FRAG, frag6(UDP, 3, True) + bytes(16))
    p["v6-frag-last"] = ip6(FRAG, frag6(TCP, 5, False) + bytes(8))
    p["v6-frag-atomic"] = ip6(FRAG, frag6(TCP, 0, False) + tcp())
    p["v6-hbh-frag-tiny"] = ip6(HBH, ext(FRAG) + frag6(TCP, 1, True))
    p["v6-frag-cut"] = ip6(FRAG, frag6(TCP)[:5])
    # ICMPv6 errors
    inner6 = ip6(TCP, tcp(80, 40000), src=DST6, dst=SRC6)
    p["v6-icmp-unreach-tcp"] = ip6(ICMP6, icmp(1, 4, data=inner6),
                                   src=ROUTER6)
    p["v6-icmp-ptb-udp"] = ip6(ICMP6, icmp(2, 0, b"\x00\x00\x05\x00", ip6(
        UDP, udp(80, 40000), src=DST6, dst=SRC6)), src=ROUTER6)
    p["v6-icmp-ttl-ext"] = ip6(ICMP6, icmp(3, 0, data=ip6(
        HBH, ext(DSTO) + ext(TCP) + tcp(80, 40000), src=DST6, dst=SRC6)),
        src=ROUTER6)
    p["v6-icmp-param-echo"] = ip6(ICMP6, icmp(4, 1, data=ip6(
        ICMP6, echo(128), src=DST6, dst=SRC6)), src=ROUTER6)
    p["v6-icmp-quote-cut"] = ip6(ICMP6, icmp(1, 0, data=inner6[:30]))
    p["v6-icmp-quote-v4"] = ip6(ICMP6, icmp(1, 0, data=ip4(TCP, tcp())))
    p["v6-icmp-quote-frag"] = ip6(ICMP6, icmp(2, 0, data=ip6(
        FRAG, frag6(UDP, 2, True) + bytes(8), src=DST6, dst=SRC6)))
    p["v6-in-ah-icmp-error"] = ip6(AH, ah(ICMP6) + icmp(1, 3, data=inner6))
    # SCTP over UDP (RFC 6951): the flows in fuzz_pkt.c take UDP 9899 (and
    # 5000) as --udp-encap ports
    p.update(sctp_udp())
    # Neither
    p["empty"] = b""
    p["one-byte-v4"] = b"\x45"
    p["version-5"] = b"\x55" + ip4(TCP, tcp())[1:]
    p["version-0"] = bytes(40)
    return p

# ------------------------------------------------------------ state files

MAGIC, VERSION, HDR, WORKERS = 0x4c51464e, 2, 128, 64
NO_SLOT = 0xffffffff
F_PAD, F_WRITE, F_CLI, F_FLOWS = 1, 2, 4, 8
FLOW_REC = 2 + 1824  # a flow record: its slot, then sizeof(struct flow)


def align64(x):
    return (x + 63) & ~63


def total_size(m, n):
    buf = align64(16 * n + 4 * m)
    return HDR + 2 * buf + align64(8 * n) + WORKERS * align64(168 + 8 * n)


def header(m, n, gen=0, seed=0, mode=0, seq=(0, 0), retired=0,
           magic=MAGIC, version=VERSION, size=None):
    if size is None:
        size = total_size(m, n)
    return struct.pack("<8IQQ3I17I", magic, version, HDR, m, n, WORKERS, mode,
                       seed, size, gen, seq[0], seq[1], retired, *([0] * 17))


def table(m, n, targets):
    """targets: {slot: (id, weight)}; entries dealt round-robin."""
    slots = sorted(targets)
    lookup = [slots[i % len(slots)] if slots else NO_SLOT for i in range(m)]
    out = b""
    for s in range(n):
        if s in targets:
            out += struct.pack("<4I", targets[s][0], targets[s][1], 1,
                               lookup.count(s))
        else:
            out += bytes(16)
    out += struct.pack("<%dI" % m, *lookup)
    return out.ljust(align64(len(out)), b"\x00")


def state(m, n, targets, gen=1, **kw):
    """Header and both buffers; the workers' part comes from padding."""
    tab = table(m, n, targets)
    empty = table(m, n, {})
    bufs = (tab + empty) if gen % 2 == 0 else (empty + tab)
    return header(m, n, gen=gen, **kw) + bufs


def states():
    s = {}
    two = {0: (7, 1), 1: (9, 1)}
    s["empty-7-2"] = bytes([F_PAD]) + state(7, 2, {}, gen=0)
    s["empty-7-2-all"] = bytes([F_PAD | F_WRITE | F_CLI]) + state(7, 2, {}, gen=0)
    s["two-13-4"] = bytes([F_PAD | F_WRITE | F_CLI]) + state(13, 4, two)
    s["two-13-4-readonly"] = bytes([F_PAD | F_CLI]) + state(13, 4, two)
    s["weights-997-8"] = bytes([F_PAD | F_WRITE]) + state(
        997, 8, {0: (101, 3), 2: (102, 1), 5: (0x80000000, 1000)}, gen=6)
    s["full-2-1"] = bytes([F_PAD | F_WRITE | F_CLI]) + state(2, 1, {0: (5, 1)})
    s["whole-file-7-2"] = bytes([F_WRITE]) + state(7, 2, two).ljust(
        total_size(7, 2), b"\x00")
    s["no-pad-size-mismatch"] = bytes([0]) + state(7, 2, two)
    s["bad-magic"] = bytes([F_PAD]) + state(7, 2, two, magic=0x12345678)
    s["version-3"] = bytes([F_PAD]) + state(7, 2, two, version=3)
    s["m-not-prime"] = bytes([F_PAD]) + header(8, 2) + bytes(256)
    s["n-over-m"] = bytes([F_PAD]) + header(7, 8) + bytes(256)
    s["stuck-busy"] = bytes([F_PAD | F_WRITE | F_CLI]) + state(
        13, 4, two, seq=(0, 3))
    s["retired"] = bytes([F_PAD | F_WRITE]) + state(13, 4, two, retired=1)
    bad = bytearray(state(13, 4, two))
    bad[HDR + align64(16 * 4 + 4 * 13) + 64 + 8] = 3  # a lookup entry: slot 3
    s["lookup-unknown"] = bytes([F_PAD | F_WRITE | F_CLI]) + bytes(bad)
    s["header-only"] = bytes([F_PAD]) + header(7, 2)
    s["short"] = bytes([0]) + header(7, 2)[:40]
    # Flow sets (fuzz_shm.c's fuzz_flowset()): a count, then records XORed
    # onto a valid baseline of FLOW_BASE flows.
    all_flags = F_FLOWS | F_WRITE | F_CLI
    s["flows-empty"] = bytes([all_flags]) + struct.pack("<H", 0)
    s["flows-3"] = bytes([all_flags]) + struct.pack("<H", 3)
    s["flows-8"] = bytes([all_flags]) + struct.pack("<H", 8) + bytes(2 * FLOW_REC)
    s["flows-over-max"] = bytes([all_flags]) + struct.pack("<H", 3000)
    bad = bytearray(2 * FLOW_REC)
    bad[FLOW_REC + 2] = ord("f") ^ ord("-")  # flow 1's name: "-1"
    s["flows-bad-name"] = bytes([all_flags]) + struct.pack("<H", 2) + bytes(bad)
    bad = bytearray(2 * FLOW_REC)
    bad[FLOW_REC] = 7  # flow 1's slot: 7 ^ 7 = 0, flow 0's
    s["flows-shared-slot"] = bytes([all_flags]) + struct.pack("<H", 2) + bytes(bad)
    return s

# ------------------------------------------------------------ command lines


def cmdlines():
    c = {
        "init": ["init"],
        "init-all-options": ["init", "--M", "251", "--N", "8", "--hash",
                             "addr", "--seed", "0x10", "--force"],
        "init-not-prime": ["init", "--force", "--M", "1000"],
        "init-n-over-m": ["init", "--force", "--M", "7", "--N", "8"],
        "activate": ["activate", "3", "4"],
        "activate-weight": ["activate", "--weight", "5", "1"],
        "activate-too-many": ["activate", "3", "4", "5", "6"],
        "activate-bad-id": ["activate", "0x"],
        "deactivate": ["deactivate", "1"],
        "deactivate-missing": ["deactivate", "99"],
        "show": ["show"],
        "show-json": ["show", "--json"],
        "stats": ["stats"],
        "stats-json": ["stats", "--json"],
        "delete": ["delete"],
        "lb": ["lb", "--queue", "0:3", "--qlength", "100", "--no-target",
               "accept", "--fail-open"],
        "lb-bad-queue": ["lb", "--queue", "5:1"],
        "help": ["help"],
        "help-show": ["help", "show"],
        "version": ["version"],
        "dash-help": ["--help"],
        "cmd-help": ["activate", "--help"],
        "shm-other": ["show", "--shm", "nfqlb-fuzz-other"],
        "shm-bad": ["show", "--shm", "a/b"],
        "shm-equals": ["stats", "--shm=x", "--json"],
        "abbreviated": ["activate", "--we", "3", "2"],
        "twice": ["show", "--json", "--json"],
        "unknown": ["bogus"],
        "missing-arg": ["init", "--M"],
        "flow-set": ["flow", "set", "c", "--table", "t", "--prio", "-3",
                     "--proto", "tcp,sctp", "--dst", "10.0.0.0/8,2001:db8::/32",
                     "--dport", "80,8000-8099", "--udp-encap", "9899"],
        "flow-replace": ["flow", "set", "a", "--table", "u", "--src", "192.0.2.1"],
        "flow-delete": ["flow", "delete", "a", "b"],
        "flow-delete-missing": ["flow", "delete", "a", "zz"],
        "flow-list": ["flow", "list", "--json"],
        "flow-show": ["flow", "show", "b", "--json"],
        "flow-other": ["flow", "list", "--flows", "nfqlb-fuzz-other"],
    }
    return {k: b"\0".join(a.encode() for a in v) for k, v in c.items()}


def write(dirname, items):
    os.makedirs(dirname, exist_ok=True)
    for name, data in items.items():
        with open(os.path.join(dirname, name), "wb") as f:
            f.write(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    write(os.path.join(out, "pkt"), packets())
    write(os.path.join(out, "shm"), states())
    write(os.path.join(out, "cli"), cmdlines())


if __name__ == "__main__":
    main()
