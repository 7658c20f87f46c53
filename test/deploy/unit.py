#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""unit.py: read an installed service unit as systemd does, for the tests.

  unit.py argv UNIT INSTANCE KEY [DROPIN...]
      the command line of KEY (ExecStartPre, ExecStart) with its specifiers
      and environment variables expanded as systemd expands them
  unit.py env UNIT INSTANCE [DROPIN...]
      the environment the unit gives its commands: Environment=, then the
      EnvironmentFile=s (which override it), as VAR=VALUE
  unit.py setpriv UNIT INSTANCE [DROPIN...]
      setpriv(1) options granting what the unit grants a root service: its
      capability bounding set, no inheritable or ambient capabilities, and
      no_new_privs if NoNewPrivileges=yes
  unit.py caps UNIT INSTANCE [DROPIN...]
      that bounding set as capsh --decode prints it (cap_a,cap_b), or ""
  unit.py check-trace UNIT INSTANCE TRACE [DROPIN...]
      every system call in TRACE (strace -f -o output) is one the unit's
      SystemCallFilter= allows, and every socket family one its
      RestrictAddressFamilies= allows; prints those that are not

argv and env print one word per item, each ended by a NUL (for bash's
mapfile -d '').  Drop-ins are read after the unit, in the order given.
Only the syntax the nfqlb units use is understood; anything else (line
continuations, backslashes, command prefixes, deny lists, User=, ...) is an
error, so a test never runs something other than what systemd would.
"""
import re
import subprocess
import sys

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


def die(msg):
    sys.exit(f"unit.py: {msg}")


def read_unit(paths):
    """The [Service] settings of the unit and its drop-ins, in order."""
    settings = []
    for path in paths:
        section = None
        with open(path) as f:
            for n, raw in enumerate(f, 1):
                line = raw.strip()
                if not line or line[0] in "#;":
                    continue
                if line.endswith("\\"):
                    die(f"{path}:{n}: line continuations are not supported")
                if line.startswith("["):
                    section = line
                    continue
                key, eq, value = line.partition("=")
                if not eq:
                    die(f"{path}:{n}: not KEY=VALUE")
                if section == "[Service]":
                    settings.append((key.strip(), value.strip()))
    return settings


def specifiers(value, instance):
    def one(m):
        if m.group(1) in ("i", "I"):
            return instance
        if m.group(1) == "%":
            return "%"
        die(f"specifier %{m.group(1)} is not supported")
    return re.sub(r"%(.)", one, value)


def split_words(value):
    """Split a command line or an Environment= value as systemd does:
    blanks separate words, "..." and '...' quote.  Backslashes refused."""
    if "\\" in value:
        die(f"backslashes are not supported: {value}")
    words, i, n = [], 0, len(value)
    while i < n:
        if value[i].isspace():
            i += 1
            continue
        word = ""
        while i < n and not value[i].isspace():
            if value[i] in "\"'":
                end = value.find(value[i], i + 1)
                if end < 0:
                    die(f"unbalanced quote: {value}")
                word += value[i + 1:end]
                i = end + 1
            else:
                word += value[i]
                i += 1
        words.append(word)
    return words


def env_file(path):
    """KEY=VALUE lines; a value may be wholly "..." or '...' quoted."""
    env = {}
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            key, eq, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or not NAME.match(key):
                die(f"{path}:{n}: not VAR=VALUE")
            if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
                value = value[1:-1]
            if re.search(r"[\\$`\"']", value):
                die(f"{path}:{n}: quotes inside a value, $, ` and \\ are not supported")
            env[key] = value
    return env


def environment(settings, instance):
    env = {}
    for key, value in settings:
        if key == "Environment":
            for word in split_words(specifiers(value, instance)):
                k, eq, v = word.partition("=")
                if not eq or not NAME.match(k):
                    die(f"bad Environment= assignment: {word}")
                env[k] = v
    for key, value in settings:
        if key == "EnvironmentFile":
            path = specifiers(value, instance)
            optional = path.startswith("-")
            path = path.lstrip("-")
            try:
                env.update(env_file(path))
            except FileNotFoundError:
                if not optional:
                    die(f"EnvironmentFile {path} does not exist")
    return env


def expand_word(word, env):
    """One word: "$VAR" alone becomes the value split at blanks (maybe no
    word); "${VAR}" becomes the value; "$$" a dollar sign."""
    m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
    if m:
        return env.get(m.group(1), "").split()
    out, i = "", 0
    while i < len(word):
        if word.startswith("$$", i):
            out += "$"
            i += 2
        elif word.startswith("${", i):
            end = word.find("}", i)
            if end < 0 or not NAME.match(word[i + 2:end]):
                die(f"bad variable in {word}")
            out += env.get(word[i + 2:end], "")
            i = end + 1
        elif word[i] == "$":
            die(f"systemd leaves $VAR inside a word as it is; write ${{VAR}}: {word}")
        else:
            out += word[i]
            i += 1
    return [out]


def command(settings, instance, key):
    lines = [v for k, v in settings if k == key]
    if len(lines) != 1:
        die(f"want exactly one {key}=, found {len(lines)}")
    line = specifiers(lines[0], instance)
    if line[:1] in ("-", "@", ":", "+", "!"):
        die(f"{key}= prefixes are not supported: {line}")
    env = environment(settings, instance)
    argv = []
    for word in split_words(line):
        argv += expand_word(word, env)
    if not argv or not argv[0].startswith("/"):
        die(f"{key}= must start with an absolute path: {line}")
    return argv


def merged_list(settings, key):
    """A list setting over the unit and its drop-ins (merged; "" resets);
    None if never set."""
    result = None
    for k, value in settings:
        if k != key:
            continue
        if value.startswith("~"):
            die(f"{key}=~ (a deny list) is not supported")
        result = set() if not value else (result or set()) | set(value.split())
    return result


def bounding_set(settings):
    for k, _ in settings:
        if k in ("User", "DynamicUser", "AmbientCapabilities", "PrivateUsers"):
            die(f"{k}= is not supported: the tests run the unit as root")
    caps = merged_list(settings, "CapabilityBoundingSet")
    if caps is None:
        die("the unit sets no CapabilityBoundingSet=")
    for c in caps:
        if not re.fullmatch(r"CAP_[A-Z_]+", c):
            die(f"bad capability {c}")
    return sorted(c[4:].lower() for c in caps)


def setpriv_options(settings):
    caps = bounding_set(settings)
    opts = ["--bounding-set=" + ",".join(["-all"] + ["+" + c for c in caps]),
            "--inh-caps=-all", "--ambient-caps=-all"]
    nnp = [v for k, v in settings if k == "NoNewPrivileges"]
    if nnp and nnp[-1] in ("yes", "true", "1", "on"):
        opts.append("--no-new-privs")
    return opts


def syscall_group(name, cache):
    """The system calls of a SystemCallFilter= entry: a name, or a @group
    expanded by systemd-analyze (groups nest)."""
    if not name.startswith("@"):
        return {name}
    if name not in cache:
        out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", name],
                             capture_output=True, text=True, check=True).stdout
        calls = set()
        for line in out.splitlines()[1:]:
            line = line.strip()
            if line and not line.startswith("#"):
                calls |= syscall_group(line, cache)
        if not calls:
            die(f"systemd-analyze knows no syscall group {name}")
        cache[name] = calls
    return cache[name]


def syscall_filter(settings):
    """The system calls SystemCallFilter= allows, and its lines: the first
    line is an allow list, later ones add to it, or (~) take from it."""
    allowed, lines, cache = None, [], {}
    for k, value in settings:
        if k != "SystemCallFilter":
            continue
        if not value:
            allowed, lines = None, []
            continue
        calls = set()
        for name in value.lstrip("~").split():
            calls |= syscall_group(name, cache)
        if allowed is None and value.startswith("~"):
            die("a SystemCallFilter= that starts with a deny list is not supported")
        if allowed is None:
            allowed = calls
        elif value.startswith("~"):
            allowed -= calls
        else:
            allowed |= calls
        lines.append(value)
    if allowed is None:
        die("the unit sets no SystemCallFilter=")
    return allowed, lines


TRACE_LINE = re.compile(r"^\d+\s+(?:<\.\.\. ([A-Za-z0-9_]+) resumed>|([A-Za-z0-9_]+)\()")
FAMILY = re.compile(r"\bsocket(?:pair)?\((AF_[A-Z0-9]+)")


def check_trace(settings, path):
    allowed, filters = syscall_filter(settings)
    families = merged_list(settings, "RestrictAddressFamilies")
    if families is None:
        die("the unit sets no RestrictAddressFamilies=")
    seen, fams, bad = {}, set(), []
    with open(path) as f:
        for line in f:
            m = TRACE_LINE.match(line)
            if m:
                call = m.group(1) or m.group(2)
                seen[call] = seen.get(call, 0) + 1
            fams |= set(FAMILY.findall(line))
    if not seen:
        die(f"{path}: no system call traced")
    for call in sorted(set(seen) - allowed):
        bad.append(f"system call {call} ({seen[call]} times) is not allowed by "
                   f"SystemCallFilter= {' | '.join(filters)}")
    for fam in sorted(fams - families):
        bad.append(f"socket family {fam} is not in RestrictAddressFamilies="
                   f"{' '.join(sorted(families))}")
    for line in bad:
        print(line)
    return 1 if bad else 0


def main(argv):
    if len(argv) < 4:
        die(__doc__)
    what, unit, instance = argv[1:4]
    rest = argv[4:]
    if what in ("argv", "check-trace"):
        if not rest:
            die(__doc__)
        arg, rest = rest[0], rest[1:]
    settings = read_unit([unit] + rest)
    if what == "argv":
        words = command(settings, instance, arg)
    elif what == "env":
        words = [f"{k}={v}" for k, v in environment(settings, instance).items()]
    elif what == "setpriv":
        words = setpriv_options(settings)
    elif what == "caps":
        print(",".join("cap_" + c for c in bounding_set(settings)))
        return 0
    elif what == "check-trace":
        return check_trace(settings, arg)
    else:
        die(__doc__)
    sys.stdout.write("".join(w + "\0" for w in words))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
