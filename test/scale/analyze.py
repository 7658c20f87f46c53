#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn the scale runs of scale.sh into the loss table and the plot data.

usage: analyze.py OUTDIR

OUTDIR holds one directory per run, named EVENT-MODE, each with
  meta           key=value lines: event, mode, removed, added, client, vip,
                 port, targets (all target ids in the lab)
  timeline.csv   nfqlb-conn -o: time,conn,port,target,event; one "mark"
                 event at the moment the table (or hash) changed
  live.csv       nfqlb-conn -s: time,t1,t2,... live connections per target
  before.json, after.json
                 nfqlb show --json around the change (nfqlb modes only)

A connection is lost when it was up at the mark and later failed (reset,
end of file, timeout, ...) or was answered by another target.  Lost
connections whose target was removed are the unavoidable ones; the others,
on targets that stay, are the excess disruption.

For the nfqlb modes the table tells in advance which connections must be
lost: the connection's flow hash picks a table entry (docs/maglev.md, "The
Maglev algorithm"); with all packets queued the connection breaks when the entry's
owner changes, with SYN-only only when its own target stops.  The script
checks that the measured losses are exactly the predicted ones, and that
every connection was served by the target the table named.

Writes OUTDIR/results.csv, OUTDIR/table.md (also printed), and for the
plot OUTDIR/plot/EVENT-MODE.dat (time from the mark, one column per target)
and OUTDIR/plot/vars.gp.
"""
import csv
import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "ref"))
from maglev_ref import flow_hash, reduce  # noqa: E402

EVENTS = [("in-drain", "scale-in, drain"), ("in-stop", "scale-in, stop"),
          ("out", "scale-out")]
MODES = [("all", "nfqlb, all packets"), ("syn", "nfqlb, SYN-only"),
         ("modulo", "modulo hash (HMARK)")]
FAILURES = {"reset", "eof", "timeout", "refused", "unreachable", "error",
            "moved"}


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            meta[k] = v
    for k in ("removed", "added", "targets"):
        meta[k] = [int(x) for x in meta.get(k, "").split()]
    return meta


def read_timeline(path):
    """Returns (mark time, {conn: record}) from a timeline CSV."""
    mark, conns = None, {}
    with open(path) as f:
        for row in csv.DictReader(f):
            t, ev = float(row["time"]), row["event"]
            if ev == "mark":
                mark = t if mark is None else mark
                continue
            c = conns.setdefault(int(row["conn"]), {
                "port": 0, "target": None, "open": None, "fail": None,
                "how": None})
            if row["port"]:
                c["port"] = int(row["port"])
            if ev == "open":
                c["target"], c["open"] = row["target"], t
            elif ev in FAILURES and c["fail"] is None:
                c["fail"], c["how"] = t, ev
    return mark, conns


def words(addr):
    a = ipaddress.ip_address(addr)
    if a.version == 4:
        return [0, 0, 0xFFFF, int(a)]
    n = int(a)
    return [(n >> s) & 0xFFFFFFFF for s in (96, 64, 32, 0)]


def entry_of(table, meta, sport):
    w = words(meta["client"]) + words(meta["vip"])
    w += [(sport << 16) | int(meta["port"]), 6]
    return reduce(flow_hash(w, table["hash"], table["seed"]), table["M"])


def tid(name):
    return int(name[1:]) if name and name[1:].isdigit() else 0


def predict(run, meta, up):
    """Per connection up at the mark: (table's target, lost?), nfqlb modes."""
    d = run["dir"]
    with open(os.path.join(d, "before.json")) as f:
        before = json.load(f)
    with open(os.path.join(d, "after.json")) as f:
        after = json.load(f)
    stopped = meta["removed"] if meta["event"] == "in-stop" else []
    # Entries that moved from a target that stays to one that was there.
    moved_entries = sum(1 for a, b in zip(before["lookup"], after["lookup"])
                        if a != b and a not in meta["removed"] and
                        b not in meta["added"])
    out = {}
    for n, c in up.items():
        e = entry_of(before, meta, c["port"])
        old, new = before["lookup"][e], after["lookup"][e]
        lost = old in stopped
        if meta["mode"] == "all":
            lost = lost or old != new
        out[n] = (old, lost)
    return out, moved_entries / before["M"]


def analyse(run):
    meta = read_meta(os.path.join(run["dir"], "meta"))
    mark, conns = read_timeline(os.path.join(run["dir"], "timeline.csv"))
    if mark is None:
        raise SystemExit(f"{run['dir']}: no mark in the timeline")
    up = {n: c for n, c in conns.items() if c["open"] is not None and
          c["open"] <= mark and (c["fail"] is None or c["fail"] > mark)}
    lost = {n for n, c in up.items() if c["fail"] is not None}
    gone = set(meta["removed"])
    r = dict(meta=meta, event=meta["event"], mode=meta["mode"],
             conns=len(conns),
             up=len(up), prefail=len(conns) - len(up),
             lost=len(lost),
             on_removed=sum(1 for c in up.values() if tid(c["target"]) in gone),
             lost_removed=sum(1 for n in lost if tid(up[n]["target"]) in gone),
             predicted="", mismatch="", wrong_target="", table_excess="")
    r["excess"] = r["lost"] - r["lost_removed"]
    if meta["mode"] in ("all", "syn"):
        pred, frac = predict(run, meta, up)
        plost = {n for n, (_, lo) in pred.items() if lo}
        r["predicted"] = len(plost)
        r["predicted_excess"] = sum(
            1 for n in plost if tid(up[n]["target"]) not in gone)
        r["mismatch"] = len(plost ^ lost)
        r["wrong_target"] = sum(1 for n, (old, _) in pred.items()
                                if old != tid(up[n]["target"]))
        r["table_excess"] = f"{frac:.4f}"
    run.update(meta=meta, mark=mark, result=r)
    return r


def pct(n, d):
    return f"{100.0 * n / d:.0f}%" if d else "-"


def cell(r, event):
    if r is None:
        return "-"
    s = pct(r["lost"], r["up"])
    if event.startswith("in"):
        return f"{s} ({r['lost_removed']} + {r['excess']})"
    return f"{s} ({r['lost']})"


def ideal(meta):
    n, removed, added = int(meta["n"]), meta["removed"], meta["added"]
    if meta["event"].startswith("in"):
        stateless = pct(len(removed), n)
        state = "0%" if meta["event"] == "in-drain" else stateless
    else:
        stateless, state = pct(len(added), n + len(added)), "0%"
    return stateless, state


def table(results):
    lines = ["| event | ideal, stateless | ideal, with state | "
             + " | ".join(m[1] for m in MODES) + " |",
             "|---|---|---|" + "---|" * len(MODES)]
    for ev, title in EVENTS:
        row = [results.get((ev, m)) for m, _ in MODES]
        if not any(row):
            continue
        a, b = ideal(next(r for r in row if r)["meta"])
        lines.append(f"| {title} | {a} | {b} | "
                     + " | ".join(cell(r, ev) for r in row) + " |")
    return "\n".join(lines) + "\n"


def write_plot(run, outdir, ids):
    """live.csv shifted to the mark, one column per lab target; only the
    rows where a count changes (and the last), as steps need no more."""
    src = os.path.join(run["dir"], "live.csv")
    name = os.path.basename(run["dir"])
    with open(src) as f:
        rows = [(float(r["time"]) - run["mark"],
                 " ".join(r.get(f"t{i}", "0") or "0" for i in ids))
                for r in csv.DictReader(f)]
    with open(os.path.join(outdir, name + ".dat"), "w") as o:
        o.write("time " + " ".join(f"t{i}" for i in ids) + "\n")
        for k, (t, v) in enumerate(rows):
            if k == 0 or k == len(rows) - 1 or v != rows[k - 1][1]:
                o.write(f"{t:.1f} {v}\n")


def write_vars(runs, outdir, ids):
    with open(os.path.join(outdir, "vars.gp"), "w") as f:
        f.write(f"ntargets = {len(ids)}\n")
        for run in runs:
            r = run["result"]
            key = (r["event"] + "_" + r["mode"]).replace("-", "_")
            f.write(f'lost_{key} = "{pct(r["lost"], r["up"])}"\n')


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: analyze.py OUTDIR")
    outdir = argv[1]
    runs = [{"dir": os.path.join(outdir, d)} for d in sorted(os.listdir(outdir))
            if os.path.isfile(os.path.join(outdir, d, "meta"))]
    if not runs:
        raise SystemExit(f"{outdir}: no runs")
    results = {}
    for run in runs:
        r = analyse(run)
        results[(r["event"], r["mode"])] = r
    keys = ["event", "mode", "conns", "up", "prefail", "lost", "on_removed",
            "lost_removed", "excess", "predicted", "predicted_excess",
            "mismatch", "wrong_target", "table_excess"]
    with open(os.path.join(outdir, "results.csv"), "w") as f:
        w = csv.DictWriter(f, keys, extrasaction="ignore", restval="")
        w.writeheader()
        for run in runs:
            w.writerow(run["result"])
    text = table(results)
    with open(os.path.join(outdir, "table.md"), "w") as f:
        f.write(text)
    print(text, end="")
    plotdir = os.path.join(outdir, "plot")
    os.makedirs(plotdir, exist_ok=True)
    ids = runs[0]["meta"]["targets"]
    for run in runs:
        write_plot(run, plotdir, ids)
    write_vars(runs, plotdir, ids)


if __name__ == "__main__":
    main(sys.argv)
