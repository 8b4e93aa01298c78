#!/usr/bin/env python3
"""Derive virt-lint's element placement and cardinality tables.

Order: from libvirt's own formatter output, the `qemuxml2xmloutdata` files of libvirt's
test suite (in the shared corpus). For every parent element (named by its path from
<domain>), each file gives the order its children were written in; the table is a
topological sort of every "a before b" seen. A parent whose order depends on its `type`
attribute (a pair seen both ways) gets one table per `type` value instead.

Cardinality: from libvirt's RELAX NG schema. A child is "once" when no schema pattern of
its parent lets it occur more than once.

Where libvirt's output never shows two children together, order-hints.tsv (the order of
libvirt's formatter code, hand-copied, checked against the output) decides, then libvirt's
other test files, then mean position (a guess; see README.md).

Since: from since.tsv next to this script (hand-maintained, each line citing libvirt's
documentation).

Usage (from the repository root):
    python3 scripts/placement/derive.py [--corpus DIR] [--schemas DIR] > src/fix/placement_table.rs
Defaults: ../shared/corpus and ../shared/schemas/libvirt-11.3. Standard library only.
"""

import argparse
import collections
import glob
import os
import sys
import xml.etree.ElementTree as ET

RNG = "{http://relaxng.org/ns/structure/1.0}"

# libvirt's formatter output from the QEMU driver tests: the order evidence.
PRIMARY = "qemuxml2xmloutdata"
# Weaker evidence, only for pairs of children the primary files never show together,
# strongest first: formatter output of libvirt's other drivers, then test inputs (written
# by hand, but in the formatter's order as a rule).
WEAKER = [
    ["genericxml2xmloutdata", "bhyvexml2xmloutdata", "bhyveargv2xmldata", "lxcxml2xmloutdata",
     "lxcconf2xmldata", "vmx2xmldata"],
    ["qemuxml2argvdata", "genericxml2xmlindata", "qemuhotplugtestdomains", "lxcxml2xmldata",
     "domainschemadata", "xlconfigdata", "xmconfigdata", "bhyvexml2argvdata", "xml2vmxdata",
     "libxlxml2domconfigdata"],
]
MANY = 2  # "more than once"


# ---------------------------------------------------------------- order, from the corpus

def plain_children(element):
    """Child elements outside any namespace (namespaced ones are application data)."""
    return [c for c in element if isinstance(c.tag, str) and not c.tag.startswith("{")]


def collect(files, strict=True):
    """Per parent path: the child-name sequences, with each sequence's parent `type`.
    Not `strict`: files that do not parse or hold no <domain> are skipped."""
    sequences = collections.defaultdict(list)

    def walk(element, path):
        children = plain_children(element)
        sequences[path].append((element.get("type"), [c.tag for c in children]))
        if element.tag == "metadata":
            return  # free-form application data
        for child in children:
            walk(child, path + "/" + child.tag)

    for name in files:
        try:
            root = ET.parse(name).getroot()
        except ET.ParseError as e:
            if strict:
                sys.exit(f"{name}: {e}")
            continue
        if root.tag != "domain":
            if strict:
                sys.exit(f"{name}: not a <domain>")
            continue
        walk(root, "domain")
    return sequences


def precedences(seqs):
    """How often each ordered pair (a, b), a != b, was written with a before b."""
    before = collections.defaultdict(int)
    for _, names in seqs:
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if a != b:
                    before[(a, b)] += 1
    return before


def conflict_count(seqs):
    before = precedences(seqs)
    return sum(1 for (a, b) in before if (b, a) in before)


def has_conflict(seqs):
    before = precedences(seqs)
    return any((b, a) in before for (a, b) in before)


def reachable(names, pairs):
    """Transitive closure: name -> every name it must precede."""
    reach = {n: {b for (a, b) in pairs if a == n} for n in names}
    for k in names:
        for n in names:
            if k in reach[n]:
                reach[n] |= reach[k]
    return reach


def order(path, seqs, hint, weaker):
    """A total order of the child names in `seqs` (and `hint`) that respects every
    precedence seen in them. Pairs they never show together are ordered by `hint` (a
    chain of names from libvirt's source), then by the `weaker` evidence (lists of
    sequences, strongest first; per pair the majority direction, when it contradicts
    nothing already known), then by mean relative position. None on a conflict."""
    before = precedences(seqs)
    if any((b, a) in before for (a, b) in before):
        return None
    names, position = [], collections.defaultdict(list)
    for _, seq in seqs:
        for i, n in enumerate(seq):
            if n not in names:
                names.append(n)
            position[n].append(i / max(len(seq) - 1, 1))
    pairs = set(before)
    for i, a in enumerate(hint):
        if a not in names:
            names.append(a)
            position[a].append(1.0)
        for b in hint[i + 1:]:
            if (b, a) in before:
                sys.exit(f"order-hints.tsv: {path}: libvirt's output writes <{b}> before <{a}>")
            pairs.add((a, b))
    for layer in weaker:
        votes = precedences(layer)
        reach = reachable(names, pairs)
        for (a, b), count in sorted(votes.items(), key=lambda v: (-v[1], v[0])):
            if a not in reach or b not in reach or b in reach[a] or a in reach[b]:
                continue
            if count > votes.get((b, a), 0):
                pairs.add((a, b))
                reach = reachable(names, pairs)
    mean = {n: sum(p) / len(p) for n, p in position.items()}
    preds = {n: {a for (a, b) in pairs if b == n} for n in names}
    out = []
    while len(out) < len(names):
        ready = [n for n in names if n not in out and preds[n] <= set(out)]
        # Names the hint does not list are what a formatter writes after its own children
        # (device info: <boot>, <alias>, <address>): they wait while a hinted name is ready.
        ready.sort(key=lambda n: (bool(hint) and n not in hint, mean[n], names.index(n)))
        out.append(ready[0])
    return out


# ---------------------------------------------------------------- cardinality, from the schema

class Schema:
    def __init__(self, directory, start_file):
        self.dir = directory
        self.defines = collections.defaultdict(list)
        self.start = []
        self.loaded = set()
        self.load(start_file)
        self.memo = {}

    def load(self, file):
        if file in self.loaded:
            return
        self.loaded.add(file)
        grammar = ET.parse(os.path.join(self.dir, file)).getroot()
        for child in grammar:
            if child.tag == RNG + "include":
                self.load(child.get("href"))
            elif child.tag == RNG + "define":
                self.defines[child.get("name")].append(child)
            elif child.tag == RNG + "start":
                self.start.append(child)

    def names(self, element):
        if element.get("name"):
            return [element.get("name")]
        first = element[0]
        if first.tag == RNG + "name":
            return [first.text.strip()]
        if first.tag == RNG + "choice":
            return [n.text.strip() for n in first if n.tag == RNG + "name"]
        return []  # anyName / nsName: not a fixed name

    def content(self, patterns, stack=()):
        """name -> (max count, [element patterns]) for the elements `patterns` allow in
        sequence (their counts add up)."""
        total = {}
        for p in patterns:
            for name, (count, elements) in self.pattern(p, stack).items():
                if name in total:
                    c, e = total[name]
                    total[name] = (MANY, e + elements)
                else:
                    total[name] = (count, list(elements))
        return total

    def pattern(self, p, stack):
        tag = p.tag[len(RNG):]
        if tag == "element":
            return {n: (1, [p]) for n in self.names(p)}
        if tag in ("group", "interleave", "optional", "mixed", "define", "start"):
            return self.content(list(p), stack)
        if tag in ("zeroOrMore", "oneOrMore"):
            return {n: (MANY, e) for n, (_, e) in self.content(list(p), stack).items()}
        if tag == "choice":
            out = {}
            for alternative in p:
                for n, (c, e) in self.pattern(alternative, stack).items():
                    if n in out:
                        out[n] = (max(out[n][0], c), out[n][1] + e)
                    else:
                        out[n] = (c, list(e))
            return out
        if tag == "ref":
            name = p.get("name")
            if name in stack:
                return {}
            defines = self.defines[name]
            if len(defines) == 1:
                return self.content(list(defines[0]), stack + (name,))
            # combine="choice" (the only combination libvirt's schema uses)
            out = {}
            for d in defines:
                for n, (c, e) in self.content(list(d), stack + (name,)).items():
                    out[n] = (max(out[n][0], c), out[n][1] + e) if n in out else (c, list(e))
            return out
        return {}  # attribute, text, data, value, empty, notAllowed, name classes

    def children(self, element):
        key = id(element)
        if key not in self.memo:
            body = [c for c in element if c.tag not in (RNG + "name", RNG + "anyName", RNG + "nsName")]
            if not element.get("name"):
                body = body[1:] if element[0].tag == RNG + "choice" else body
            self.memo[key] = self.content(body)
        return self.memo[key]

    def patterns_at(self, path):
        """Every element pattern the schema allows at `path` (domain/devices/disk)."""
        steps = path.split("/")
        current = self.content(self.start).get(steps[0], (0, []))[1]
        for step in steps[1:]:
            nxt = []
            for element in current:
                nxt.extend(self.children(element).get(step, (0, []))[1])
            current = nxt
        return current

    def cardinality(self, path):
        """child name -> True when it may occur at most once under every pattern of `path`."""
        once = {}
        for element in self.patterns_at(path):
            for name, (count, _) in self.children(element).items():
                once[name] = once.get(name, True) and count == 1
        return once


# ---------------------------------------------------------------- since, hand-maintained

def read_hints(file):
    hints = {}
    with open(file) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cells = line.split("\t")
            if len(cells) < 3:
                sys.exit(f"{file}:{number}: want parent, children in order, source (tab-separated)")
            hints[cells[0]] = cells[1].split()
    return hints


def read_since(file):
    since = {}
    with open(file) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cells = line.split("\t")
            if len(cells) < 4:
                sys.exit(f"{file}:{number}: want parent, child, version, source (tab-separated)")
            since[(cells[0], cells[1])] = cells[2]
    return since


# ---------------------------------------------------------------- output

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.path.join(root, "..", "shared", "corpus"))
    parser.add_argument("--schemas", default=os.path.join(root, "..", "shared", "schemas", "libvirt-11.3"))
    args = parser.parse_args()

    def files(*kinds):
        return sorted(f for k in kinds for f in glob.glob(os.path.join(args.corpus, "libvirt", k + "__*.xml")))

    primary = files(PRIMARY)
    if not primary:
        sys.exit(f"no {PRIMARY} files under {args.corpus}/libvirt")
    sequences = collect(primary)
    weaker = [collect(files(*layer), strict=False) for layer in WEAKER]
    schema = Schema(args.schemas, "domain.rng")
    since = read_since(os.path.join(here, "since.tsv"))
    hints = read_hints(os.path.join(here, "order-hints.tsv"))
    used_since = set()

    tables = []  # (key, path, ordered names or None)
    for path in sorted(sequences):
        seqs = sequences[path]
        hint = hints.get(path, [])
        weak = [layer.get(path, []) for layer in weaker]
        if not has_conflict(seqs):
            tables.append((path, path, order(path, seqs, hint, weak)))
            continue
        # Set apart, one `type` at a time, the parent types whose order differs (the one
        # leaving the fewest conflicting pairs first); they get tables of their own, and
        # the untyped table holds the order every other type shares.
        apart, rest = [], list(seqs)
        while has_conflict(rest):
            types = sorted({t for t, _ in rest if t is not None})
            if not types:
                break
            t = min(types, key=lambda t: (conflict_count([q for q in rest if q[0] != t]), t))
            apart.append(t)
            rest = [q for q in rest if q[0] != t]
        typed = [[q for q in seqs if q[0] == t] for t in apart]
        if has_conflict(rest) or any(has_conflict(g) for g in typed):
            print(f"warning: {path}: children in no fixed order; left unordered", file=sys.stderr)
            tables.append((path, path, None))
            continue
        rest_weak = [[q for q in layer if q[0] not in apart] for layer in weak]
        tables.append((path, path, order(path, rest, hint, rest_weak)))
        for t, group in zip(apart, typed):
            same_type = [[q for q in layer if q[0] == t] for layer in weak]
            key = f"{path}[@type='{t}']"
            tables.append((key, path, order(key, group, hints.get(key, []), same_type)))

    out = []
    w = out.append
    w("//! Where libvirt writes each child element, and which children may occur only once.")
    w("//!")
    w("//! @generated by scripts/placement/derive.py from libvirt's qemuxml2xmloutdata test files")
    w("//! (order), the libvirt 11.3 RELAX NG schema (cardinality) and scripts/placement/since.tsv")
    w("//! (since). Do not edit by hand: change the script or since.tsv and regenerate, as")
    w("//! scripts/placement/README.md describes.")
    w("")
    w("use super::placement::{Child, Parent};")
    w("")
    w("/// Sorted by key: a parent's path from `<domain>`, with `[@type='...']` when its order")
    w("/// depends on its `type` attribute.")
    w("#[rustfmt::skip]")
    w("pub(super) static PARENTS: &[Parent] = &[")
    for key, path, names in sorted(tables, key=lambda t: t[0]):
        once = schema.cardinality(path)
        ranked = names or []
        extra = sorted(n for n in once if n not in ranked)
        children = [(n, i) for i, n in enumerate(ranked)] + [(n, None) for n in extra]
        if not children:
            continue
        w(f"    Parent {{ key: \"{key}\", children: &[")
        for name, rank in children:
            s = since.get((path, name))
            if s:
                used_since.add((path, name))
            rank_s = f"Some({rank})" if rank is not None else "None"
            since_s = f"Some(\"{s}\")" if s else "None"
            w(f"        Child {{ name: \"{name}\", rank: {rank_s}, once: {'true' if once.get(name, False) else 'false'}, since: {since_s} }},")
        w("    ]},")
    w("];")
    for key in sorted(set(since) - used_since):
        print(f"warning: since.tsv names {key[0]}/{key[1]}, which no table has", file=sys.stderr)
    print("\n".join(out))


if __name__ == "__main__":
    main()
