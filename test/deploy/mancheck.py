#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""mancheck.py DUMP MANPAGE SRCDIR: nfqlb(8) and the code agree.

DUMP is the output of build/optdump (the command and option tables),
MANPAGE the page's source (man/nfqlb.8.in), SRCDIR the source tree.
Checked, both ways, so that neither can change without the other:
  - every command of the table has a .SS under COMMANDS and a
    ".B nfqlb COMMAND" line in the SYNOPSIS, and every .SS is a command;
  - every option of a command's table is a .TP entry of its .SS, with the
    same metavariable, and every "--" .TP entry there is in the table;
  - the EXIT STATUS entries are the values of enum nfqlb_exit (nfqlb/opt.h);
  - the ENVIRONMENT entries are the getenv() names of nfqlb/, shm/, maglev/,
    flows/ (a literal, or a macro #defined to one).
Prints one line per disagreement, saying what to add or remove where, and
exits 1 when there is any; prints nothing and exits 0 otherwise.
"""
import glob
import os
import re
import sys

FONT = re.compile(r"\\f(\[[A-Z]*\]|[BIRP])")
ALTERNATING = {".BI", ".IB", ".BR", ".RB", ".IR", ".RI"}


def roff_args(s):
    """Split a macro line's arguments as roff does ("a b" is one, "" a ")."""
    args, i, n = [], 0, len(s)
    while i < n:
        if s[i] == " ":
            i += 1
            continue
        if s[i] == '"':
            i += 1
            word = ""
            while i < n:
                if s.startswith('""', i):
                    word += '"'
                    i += 2
                elif s[i] == '"':
                    i += 1
                    break
                else:
                    word += s[i]
                    i += 1
            args.append(word)
        else:
            j = s.find(" ", i)
            j = n if j < 0 else j
            args.append(s[i:j])
            i = j
    return args


def plain(s):
    """Roff text to what a reader sees: no font changes, no escapes."""
    s = FONT.sub("", s)
    for esc, ch in (("\\-", "-"), ("\\&", ""), ("\\(dq", '"'), ("\\(rs", "\\"),
                    ("\\e", "\\")):
        s = s.replace(esc, ch)
    return s


def macro_text(line):
    """The text a .B/.I/.BI/... line prints, or None for other lines."""
    m = re.match(r"(\.[A-Z]{1,2})(?: (.*))?$", line)
    if not m or m.group(1) not in ALTERNATING | {".B", ".I"}:
        return None
    args = roff_args(m.group(2) or "")
    sep = "" if m.group(1) in ALTERNATING else " "
    return plain(sep.join(args)).strip()


def parse_dump(path):
    cmds, opts = [], {}
    with open(path) as f:
        for line in f:
            field = line.rstrip("\n").split("\t")
            if field[0] == "command":
                cmds.append(field[1])
                opts[field[1]] = {}
            elif field[0] == "option":
                opts[field[1]][field[2]] = None if field[3] == "-" else field[3]
            else:
                sys.exit("mancheck: bad dump line: " + line.rstrip())
    return cmds, opts


class Page:
    """The parts of the page the checks read."""

    def __init__(self, path):
        self.synopsis = []      # the texts of .B lines in SYNOPSIS
        self.sections = {}      # .SS name under COMMANDS -> {option: metavar}
        self.order = []         # those .SS names, in order
        self.tags = {}          # .SH name -> the .TP tags under it
        self.problems = []
        sh = ss = None
        with open(path) as f:
            lines = [line.rstrip("\n") for line in f]
        for i, line in enumerate(lines):
            if line.startswith(".SH "):
                sh, ss = plain(" ".join(roff_args(line[4:]))), None
                self.tags.setdefault(sh, [])
            elif line.startswith(".SS ") and sh == "COMMANDS":
                ss = plain(" ".join(roff_args(line[4:])))
                self.order.append(ss)
                self.sections[ss] = {}
            elif sh == "SYNOPSIS" and line.startswith(".B "):
                self.synopsis.append(macro_text(line))
            elif line == ".TP" and i + 1 < len(lines) and sh:
                self.tag(sh, ss, lines[i + 1], i + 2)

    def tag(self, sh, ss, line, lineno):
        text = macro_text(line)
        if text is None:
            return
        self.tags[sh].append(text)
        if sh != "COMMANDS" or not text.startswith("--"):
            return
        if ss is None:
            self.problems.append(f"line {lineno}: option {text} outside a command's .SS")
            return
        name, _, metavar = text[2:].partition(" ")
        if name in self.sections[ss]:
            self.problems.append(f"line {lineno}: {ss} --{name} documented twice")
        self.sections[ss][name] = metavar or None


def check_commands(cmds, opts, page, out):
    for c in cmds:
        if c not in page.sections:
            out.append(f"command '{c}' is in the command table but has no '.SS {c}' "
                       "under COMMANDS")
        if not any(s == "nfqlb " + c or s.startswith("nfqlb " + c + " ")
                   for s in page.synopsis):
            out.append(f"command '{c}' has no '.B nfqlb {c}' line in the SYNOPSIS")
    for c in page.order:
        if c not in opts:
            out.append(f"'.SS {c}' under COMMANDS is not a command of the table")


def show(name, metavar):
    return f"--{name}" + (f" {metavar}" if metavar else "")


def check_options(opts, page, out):
    for c, table in opts.items():
        doc = page.sections.get(c)
        if doc is None:
            continue
        for name, metavar in table.items():
            if name not in doc:
                out.append(f"option '{c} {show(name, metavar)}' is in the table of "
                           f"'{c}' but not documented under '.SS {c}'")
            elif doc[name] != metavar:
                out.append(f"option '{c} --{name}': the table says "
                           f"'{show(name, metavar)}', the man page "
                           f"'{show(name, doc[name])}'")
        for name, metavar in doc.items():
            if name not in table:
                out.append(f"the man page documents '{c} {show(name, metavar)}', "
                           f"which is not in the table of '{c}'")


def check_set(what, code, doc, out):
    for v in sorted(code - doc):
        out.append(f"{what} '{v}' is in the code but not in the man page")
    for v in sorted(doc - code):
        out.append(f"{what} '{v}' is in the man page but not in the code")


def exit_codes(srcdir):
    with open(os.path.join(srcdir, "nfqlb/opt.h")) as f:
        text = f.read()
    m = re.search(r"enum nfqlb_exit \{(.*?)\};", text, re.S)
    if not m:
        sys.exit("mancheck: no enum nfqlb_exit in nfqlb/opt.h")
    return set(re.findall(r"=\s*(\d+)", m.group(1)))


def env_names(srcdir):
    """getenv("NAME"), and getenv(MACRO) of a #define MACRO "NAME"."""
    names, macros, used = set(), {}, set()
    for d in ("nfqlb", "shm", "maglev", "flows"):
        for path in glob.glob(os.path.join(srcdir, d, "*.[ch]")):
            with open(path) as f:
                text = f.read()
            names |= set(re.findall(r'getenv\("([^"]+)"\)', text))
            macros.update(re.findall(r'#define\s+(\w+)\s+"([^"]+)"', text))
            used |= set(re.findall(r'getenv\((\w+)\)', text))
    return names | {macros[m] for m in used if m in macros}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    dump, manpage, srcdir = sys.argv[1:]
    cmds, opts = parse_dump(dump)
    if not cmds:
        sys.exit("mancheck: the dump lists no command")
    page = Page(manpage)
    out = list(page.problems)
    check_commands(cmds, opts, page, out)
    check_options(opts, page, out)
    check_set("exit status", exit_codes(srcdir), set(page.tags.get("EXIT STATUS", [])), out)
    check_set("environment variable", env_names(srcdir),
              set(page.tags.get("ENVIRONMENT", [])), out)
    for line in out:
        print(f"{manpage}: {line}")
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
