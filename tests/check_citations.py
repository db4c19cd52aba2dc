#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Citations resolve inside the repository (docs/sources.md).

Scans README.md, docs/, man/, the conformance case files and the comments of the C sources,
scripts and CMake files, and reports, one "FAIL: file:line: ..." line each:
  - a source key in brackets ([GB-SIGN]) that has no row in docs/sources.md;
  - a reference docs/x.md#anchor (or x.md#anchor, or #anchor inside a .md) naming a file or a
    heading that does not exist (anchors are GitHub's: lower case, punctuation dropped, spaces
    become '-', repeated headings get -1, -2, ...; <a id="..."> counts too; "#anchor" itself is
    the placeholder that explanations use);
  - a path outside the repository (the parent directory's shared/ folder), or a section of
    research notes or an issue number cited as a source: users have neither.
Keys are upper case with at least one '-' ([D-TERM], [W-2_0]) anywhere; in .md, .json and man
pages a bracketed upper-case word without '-' ([POSTMAN]) is a key too, except the placeholders
in PLACEHOLDERS. In C files only comments are read, so subscripts such as a[N-1] are not keys.
A bracket that reads as a character class ([A-Z], [0-9A-F]) is not a key.

Usage: check_citations.py ROOT       check the tree at ROOT; exit 1 on any finding
       check_citations.py --self-test  run the checker on a small tree with one of each mistake
"""
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

PLACEHOLDERS = {"COMMAND", "KEY"}
# Not scanned: data, not prose (fuzz inputs, keys, certificates, vectors).
SKIP_PREFIXES = ("fuzz/corpus/", "fuzz/dict/", "fixtures/keys/", "fixtures/certs/",
                 "fixtures/tls/", "fixtures/vectors/", "fixtures/requests/")
OUTSIDE = "../" + "shared"  # spelt in two parts so this file does not report itself

KEY_DASH = re.compile(r"\[([A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)+)\]")
KEY_WORD = re.compile(r"\[([A-Z][A-Z0-9_]{2,})\](?![(\[:])")
CHAR_CLASS = re.compile(r"^(?:[A-Z0-9]-[A-Z0-9])+_?$")
MD_REF = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)#([\w-]+)")
SAME_FILE_REF = re.compile(r"\]\(#([\w-]+)\)")
RESEARCH = re.compile(r"\bresearch (?:§|R\d|notes)")
ISSUE = re.compile(r"\b[Ii]ssues? \d+\b")
DEFINED = re.compile(r"^\|\s*`([A-Z][A-Z0-9_-]*)`\s*\|")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ID = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
C_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def tracked_files(root):
    """Files of the checkout: git's list when there is one, else a walk without build/."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True,
                             check=True).stdout.decode()
        files = [f for f in out.split("\0") if f]
        if files:
            return files
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x not in (".git", "build")]
        for n in names:
            files.append(os.path.relpath(os.path.join(d, n), root))
    return files


def slug(text):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link counts by its text
    text = text.replace("`", "").replace("*", "").lower()
    keep = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in " -_" or cat[0] in "LNM":
            keep.append(ch)
    return "".join(keep).replace(" ", "-")


def anchors_of(path, cache):
    if path in cache:
        return cache[path]
    found = set()
    seen = {}
    in_fence = False
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError):
        cache[path] = None
        return None
    for line in lines:
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        for m in HTML_ID.finditer(line):
            found.add(m.group(1))
        if in_fence:
            continue
        m = HEADING.match(line)
        if m:
            s = slug(m.group(2))
            n = seen.get(s, 0)
            seen[s] = n + 1
            found.add(s if n == 0 else "%s-%d" % (s, n))
    cache[path] = found
    return found


def defined_keys(root, twice=None):
    """The keys with a row in docs/sources.md; a key with two rows goes into `twice` (a list)."""
    keys = set()
    with open(os.path.join(root, "docs", "sources.md"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = DEFINED.match(line)
            if m:
                if m.group(1) in keys and twice is not None:
                    twice.append("docs/sources.md:%d: key [%s] has a second row" % (n, m.group(1)))
                keys.add(m.group(1))
    return keys


def scanned_text(rel, text):
    """The part of a file that may cite: comments for C, everything for the rest. Keeps line
    numbers: what is left out becomes blank."""
    if not rel.endswith((".c", ".h")):
        return text
    out = []
    last = 0
    for m in C_COMMENT.finditer(text):
        out.append(re.sub(r"[^\n]", " ", text[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(re.sub(r"[^\n]", " ", text[last:]))
    return "".join(out)


def resolve(root, rel, target):
    """The repository path a reference names, or None."""
    here = os.path.dirname(rel)
    tries = [target] if "/" in target else []
    tries += [os.path.normpath(os.path.join(here, target)), os.path.join("docs", target)]
    for t in tries:
        if os.path.isfile(os.path.join(root, t)):
            return t
    return None


def check(root):
    problems = []
    try:
        keys = defined_keys(root, problems)
    except (OSError, UnicodeDecodeError) as e:
        return ["docs/sources.md: cannot read it (%s)" % e]
    cache = {}
    for rel in sorted(tracked_files(root)):
        if rel.startswith(SKIP_PREFIXES) or rel == "tests/check_citations.py":
            continue
        path = os.path.join(root, rel)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        prose = rel.endswith((".md", ".json")) or rel.startswith("man/")
        body = scanned_text(rel, text)
        for no, line in enumerate(body.split("\n"), 1):
            where = "%s:%d" % (rel, no)
            cited = [m.group(1) for m in KEY_DASH.finditer(line)]
            if prose:
                cited += [m.group(1) for m in KEY_WORD.finditer(line)
                          if m.group(1) not in PLACEHOLDERS]
            for k in cited:
                if CHAR_CLASS.match(k):
                    continue
                if k not in keys:
                    problems.append("%s: key [%s] is not defined in docs/sources.md" % (where, k))
            for m in MD_REF.finditer(line):
                target, anchor = m.group(1), m.group(2)
                if anchor == "anchor":
                    continue  # the placeholder of "src: docs/x.md#anchor" in explanations
                found = resolve(root, rel, target)
                if found is None:
                    problems.append("%s: %s#%s: no such file" % (where, target, anchor))
                    continue
                have = anchors_of(os.path.join(root, found), cache)
                if have is not None and anchor not in have:
                    problems.append("%s: %s#%s: no such heading in %s" %
                                    (where, target, anchor, found))
            if rel.endswith(".md"):
                for m in SAME_FILE_REF.finditer(line):
                    have = anchors_of(path, cache)
                    if have is not None and m.group(1) not in have:
                        problems.append("%s: #%s: no such heading in this file" %
                                        (where, m.group(1)))
            if OUTSIDE in line:
                problems.append("%s: cites %s, which is outside the repository" % (where, OUTSIDE))
            m = RESEARCH.search(line)
            if m:
                problems.append("%s: cites '%s…', notes that are not in the repository; cite "
                                "a key of docs/sources.md" % (where, m.group(0)))
            m = ISSUE.search(line)
            if m:
                problems.append("%s: '%s' means nothing to a reader; say what it refers to" %
                                (where, m.group(0)))
    return problems


def self_test():
    """The checker finds each kind of mistake, and passes a clean tree."""
    ok = True
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "docs"))
        os.makedirs(os.path.join(root, "core"))
        with open(os.path.join(root, "docs", "sources.md"), "w", encoding="utf-8") as f:
            f.write("# Sources\n\n| key | title |\n|---|---|\n| `GB-SIGN` | a guide |\n"
                    "| `POSTMAN` | a script |\n\n## Unverified\n")
        clean = ("# Rules\n\n## Request signing string\n\nSee [GB-SIGN], [POSTMAN], [A-Z],\n"
                 "docs/sources.md#unverified and [up](#request-signing-string).\n"
                 "```sh\n# not a heading\n```\n")
        with open(os.path.join(root, "docs", "protocol.md"), "w", encoding="utf-8") as f:
            f.write(clean)
        with open(os.path.join(root, "core", "a.c"), "w", encoding="utf-8") as f:
            f.write("/* rule: x. src: docs/protocol.md#request-signing-string [GB-SIGN] */\n"
                    "static int a[N-1];\n")
        got = check(root)
        if got:
            print("FAIL: self-test: a clean tree gave findings:\n  " + "\n  ".join(got))
            ok = False
        bad = clean + ("\nDangling [NO-SUCH-KEY] and [NOSUCHWORD]; docs/protocol.md#nowhere;\n"
                       "docs/missing.md#x; [back](#nowhere-here); " + OUTSIDE + "/style.md;\n"
                       "research §9; issue 7.\n")
        with open(os.path.join(root, "docs", "protocol.md"), "w", encoding="utf-8") as f:
            f.write(bad)
        with open(os.path.join(root, "core", "a.c"), "w", encoding="utf-8") as f:
            f.write("/* src: [GO-NOPE] */\nstatic int a[N-1];\n")
        with open(os.path.join(root, "docs", "sources.md"), "a", encoding="utf-8") as f:
            f.write("| `POSTMAN` | the same key again |\n")
        got = "\n".join(check(root))
        for want in ("key [NO-SUCH-KEY] is not defined", "key [NOSUCHWORD] is not defined",
                     "protocol.md#nowhere: no such heading", "missing.md#x: no such file",
                     "#nowhere-here: no such heading", "outside the repository",
                     "research §", "'issue 7'", "core/a.c:1: key [GO-NOPE]",
                     "key [POSTMAN] has a second row"):
            if want not in got:
                print("FAIL: self-test: no finding '%s' in:\n%s" % (want, got))
                ok = False
        if "N-1" in got:
            print("FAIL: self-test: a C subscript was read as a key:\n" + got)
            ok = False
    if ok:
        print("check_citations: self-test ok")
    return 0 if ok else 1


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print("usage: check_citations.py ROOT | --self-test", file=sys.stderr)
        return 2
    problems = check(argv[1])
    for p in problems:
        print("FAIL: " + p)
    if problems:
        print("check_citations: %d problem(s); keys are defined in docs/sources.md" %
              len(problems))
        return 1
    print("check_citations: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
