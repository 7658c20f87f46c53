#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""doccheck.py SRC: check the Markdown documents of the tree SRC.

Every relative link in every .md file (outside code blocks and code spans)
must point to a file or directory that exists inside SRC, and a link with
an anchor (FILE.md#ANCHOR, or #ANCHOR in the same file) to a heading of
that Markdown file: GitHub's anchors, the heading's text in lower case,
without punctuation, spaces as hyphens, -1, -2, ... for repeated ones.
Every .md file must be reached from SRC/README.md by following such links.

The .md files are those under SRC except in build/, test/fuzz/corpus/ and
hidden directories.  Prints one line per problem, "FILE: what", and exits
1 when there is any, 0 when there is none (printing nothing), 2 on usage.
"""
import os
import re
import sys

SKIP_DIRS = {"build", os.path.join("test", "fuzz", "corpus")}


def md_files(src):
    """The .md files under src, as paths relative to it."""
    found = []
    for top, dirs, files in os.walk(src):
        rel = os.path.relpath(top, src)
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d != "__pycache__" and
            os.path.normpath(os.path.join(rel, d)) not in SKIP_DIRS)
        for f in sorted(files):
            if f.endswith(".md"):
                found.append(os.path.normpath(os.path.join(rel, f)))
    return found


def prose(text):
    """text without fenced code blocks and code spans; lines kept."""
    out = []
    fence = None
    for line in text.split("\n"):
        m = re.match(r"\s{0,3}(`{3,}|~{3,})", line)
        if fence:
            mark = m.group(1) if m else ""
            if mark[:1] == fence[0] and len(mark) >= len(fence):
                fence = None
            out.append("")
        elif m:
            fence = m.group(1)
            out.append("")
        else:
            out.append(line)
    return re.sub(r"`[^`]*`", "", "\n".join(out))


def slug(heading):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text):
    """The anchors of a Markdown text's headings."""
    seen = {}
    found = set()
    fence = None
    for line in text.split("\n"):
        m = re.match(r"\s{0,3}(`{3,}|~{3,})", line)
        if fence:
            if m and m.group(1)[0] == fence[0]:
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        h = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not h:
            continue
        s = slug(h.group(1))
        n = seen.get(s, 0)
        seen[s] = n + 1
        found.add(s if n == 0 else "%s-%d" % (s, n))
    return found


def links(text):
    """The targets of a Markdown text's inline and reference links."""
    body = prose(text)
    inline = r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
    reference = r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$"
    found = re.findall(inline, body)
    found += re.findall(reference, body, re.M)
    return found


def check_link(src, doc, target, texts):
    """The problem with the link target in doc, or None; and the .md file
    it leads to, or None."""
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target):
        return None, None       # a URL: http:, https:, mailto:
    path, _, anchor = target.partition("#")
    dest = doc
    if path:
        dest = os.path.normpath(os.path.join(os.path.dirname(doc), path))
    if dest.startswith("..") or os.path.isabs(dest):
        return "link '%s' leaves the tree" % target, None
    full = os.path.join(src, dest)
    if not os.path.exists(full):
        return "link '%s': no such file %s" % (target, dest), None
    if not dest.endswith(".md"):
        if anchor:
            return ("link '%s': an anchor into a file that is not Markdown"
                    % target), None
        return None, None
    if anchor:
        text = texts.get(dest)
        if text is None:
            with open(full, encoding="utf-8") as f:
                text = f.read()
        if anchor not in anchors(text):
            return ("link '%s': %s has no heading #%s"
                    % (target, dest, anchor)), dest
    return None, dest


def reached_from(start, graph):
    """The documents reached from start through the links of graph."""
    reached = {start}
    todo = [start]
    while todo:
        for nxt in sorted(graph[todo.pop()]):
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    return reached


def check(src):
    """The problems of the tree src, as "FILE: what" lines."""
    problems = []
    docs = md_files(src)
    texts = {}
    for d in docs:
        with open(os.path.join(src, d), encoding="utf-8") as f:
            texts[d] = f.read()
    graph = {d: set() for d in docs}
    for d in docs:
        for target in links(texts[d]):
            problem, dest = check_link(src, d, target, texts)
            if problem:
                problems.append("%s: %s" % (d, problem))
            if dest in graph:
                graph[d].add(dest)
    if "README.md" not in graph:
        return problems + ["README.md: missing"]
    reached = reached_from("README.md", graph)
    for d in docs:
        if d not in reached:
            problems.append("%s: not linked from README.md, nor from a "
                            "document it links" % d)
    return problems


def main(argv):
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        sys.stderr.write("usage: doccheck.py SRC\n")
        return 2
    problems = check(argv[1])
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
