#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""prom-check.py: check nfqlb's Prometheus exposition against its JSON.

usage: prom-check.py EXPOSITION [--up NAME STATS_JSON SHOW_JSON]...
                     [--down NAME]... [--busy NAME]...

EXPOSITION is what `nfqlb stats --prometheus` printed or /metrics served.
It is parsed with prometheus_client's parser, and must hold:
  - one typed, documented family per metric name, each name once (a sample
    outside its family comes out of the parser as an untyped family);
  - no sample twice (same name and labels);
  - for each --up table: exactly the samples `nfqlb stats --json`
    (STATS_JSON) and `nfqlb show --json` (SHOW_JSON) predict, with their
    values;
  - for each --down table: nfqlb_table_up 0 and no other sample;
  - for each --busy table: packets were classified and a worker is up.
Prints what is wrong and exits 1, or exits 0.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

COUNTERS = {
    "nfqlb_target_packets", "nfqlb_packets", "nfqlb_no_target_packets",
    "nfqlb_verdicts", "nfqlb_fragments", "nfqlb_queue_packets",
    "nfqlb_queue_dropped",
}


def parse(text):
    """{(sample name, frozenset of labels): value}, after the format checks."""
    samples, names, errors = {}, set(), []
    for fam in text_string_to_metric_families(text):
        if fam.type == "untyped" or not fam.documentation:
            errors.append(f"family {fam.name}: type {fam.type}, help "
                          f"{fam.documentation!r} (a sample outside its family?)")
        if fam.name in names:
            errors.append(f"family {fam.name} appears twice")
        names.add(fam.name)
        want = "counter" if fam.name in COUNTERS else "gauge"
        if fam.type != want:
            errors.append(f"family {fam.name} is a {fam.type}, want {want}")
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            if key in samples:
                errors.append(f"sample twice: {s.name}{s.labels}")
            samples[key] = s.value
    return samples, errors


def expected(name, stats, show):
    """The samples a table that is up must show."""
    want = {}

    def put(metric, value, **labels):
        labels["table"] = name
        want[(metric, frozenset(labels.items()))] = float(value)

    put("nfqlb_table_up", 1)
    put("nfqlb_table_generation", stats["generation"])
    put("nfqlb_table_size", show["M"])
    put("nfqlb_table_max_targets", show["N"])
    put("nfqlb_table_active_targets", len(show["targets"]))
    for t in stats["targets"]:
        put("nfqlb_target_active", int(t["active"]), target=str(t["id"]))
        put("nfqlb_target_packets_total", t["packets"], target=str(t["id"]))
    for t in show["targets"]:
        put("nfqlb_target_weight", t["weight"], target=str(t["id"]))
        put("nfqlb_target_entries", t["entries"], target=str(t["id"]))
    for kind, n in stats["kinds"].items():
        put("nfqlb_packets_total", n, kind=kind)
    put("nfqlb_no_target_packets_total", stats["no_target"])
    put("nfqlb_verdicts_total", stats["accepted"], verdict="accept")
    put("nfqlb_verdicts_total", stats["dropped"], verdict="drop")
    for event, n in stats["fragments"].items():
        put("nfqlb_fragments_total", n, event=event)
    queues = {}
    for q in stats["queues"]:
        s = queues.setdefault(str(q["queue"]), [0, 0, 0, 0, 0])
        for i, key in enumerate(("packets", "waiting", "queue_dropped",
                                 "user_dropped")):
            s[i] += q[key]
        s[4] |= int(q["running"])
    for q, s in queues.items():
        put("nfqlb_queue_packets_total", s[0], queue=q)
        put("nfqlb_queue_waiting_packets", s[1], queue=q)
        put("nfqlb_queue_dropped_total", s[2], queue=q, reason="queue_full")
        put("nfqlb_queue_dropped_total", s[3], queue=q, reason="socket_full")
        put("nfqlb_worker_up", s[4], queue=q)
    return want


def of_table(samples, name):
    return {k: v for k, v in samples.items() if ("table", name) in k[1]}


def check_up(samples, name, stats, show):
    got, want = of_table(samples, name), expected(name, stats, show)
    errors = []
    for k in sorted(set(got) | set(want), key=str):
        label = f"{k[0]}{dict(k[1])}"
        if k not in want:
            errors.append(f"unexpected sample {label} = {got[k]}")
        elif k not in got:
            errors.append(f"missing sample {label} (want {want[k]})")
        elif got[k] != want[k]:
            errors.append(f"{label} = {got[k]}, want {want[k]}")
    return errors


def check_busy(samples, name):
    got = of_table(samples, name)

    def total(metric):
        return sum(v for k, v in got.items() if k[0] == metric)

    errors = []
    for metric in ("nfqlb_target_packets_total", "nfqlb_packets_total",
                   "nfqlb_queue_packets_total", "nfqlb_worker_up"):
        if total(metric) <= 0:
            errors.append(f"table {name}: {metric} sums to {total(metric)}, "
                          "want more than 0")
    return errors


def main(argv):
    with open(argv[1], encoding="utf-8") as f:
        samples, errors = parse(f.read())
    args = argv[2:]
    while args:
        opt = args.pop(0)
        if opt == "--up":
            name, stats_file, show_file = args[:3]
            del args[:3]
            with open(stats_file, encoding="utf-8") as f:
                stats = json.load(f)
            with open(show_file, encoding="utf-8") as f:
                show = json.load(f)
            errors += check_up(samples, name, stats, show)
        elif opt == "--down":
            name = args.pop(0)
            got = of_table(samples, name)
            want = {("nfqlb_table_up", frozenset({("table", name)})): 0.0}
            if got != want:
                errors.append(f"table {name} is down: want only "
                              f"nfqlb_table_up 0, got {got}")
        elif opt == "--busy":
            errors += check_busy(samples, args.pop(0))
        else:
            errors.append(f"prom-check.py: unknown option {opt}")
    for e in errors:
        print(f"prom-check: {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
