#!/usr/bin/env python3
"""Checks and stores executed notebooks for notebooks/run.sh (standard
library only, so Debian's python3 runs it).

  nbtool.py scan EXECUTED [ROOT]     problems of an executed notebook: error
                                     outputs, "panic:", "exit status N", no
                                     plot where one is expected, absolute
                                     paths of this machine (ROOT, /tmp/...)
  nbtool.py store EXECUTED DEST      write the executed notebook to DEST,
                                     normalized, with the digest of its code
                                     cells in metadata.nnq.code_sha256
  nbtool.py compare COMMITTED EXECUTED
                                     stale outputs: the committed notebook's
                                     outputs differ from a fresh execution's
  nbtool.py hash NOTEBOOK            print the digest of the code cells

A committed notebook is fresh when its code cells hash to its stored
code_sha256 (checked without Jupyter by notebooks/check_test.go) and when
executing it again gives the same outputs (compare, run by run.sh).
Normalizing drops what changes from run to run and says nothing: cell
execution timings, the Go version in language_info, execution counts; and
compare joins each cell's stdout (and stderr) before comparing, since the
order of prints and displays within a cell is not deterministic.
"""
import hashlib
import json
import re
import sys

BAD = re.compile(r"panic:|^exit status \d+", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def text(v):
    return "".join(v) if isinstance(v, list) else (v or "")


def code_sha256(nb):
    """Digest of the code cells' sources, in order (notebooks/check_test.go
    computes the same)."""
    h = hashlib.sha256()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            h.update(text(cell.get("source")).encode("utf-8"))
            h.update(b"\0")
    return h.hexdigest()


def where(i, cell):
    src = text(cell.get("source")).strip().splitlines()
    return "cell %d (%s)" % (i + 1, src[0][:60] if src else "empty")


def scan(path, root=None):
    nb = json.load(open(path))
    want_png = nb.get("metadata", {}).get("nnq", {}).get("plots", True)
    problems, pngs = [], 0
    local = []
    if root:
        local.append(root.rstrip("/") + "/")
    local.append("/tmp/gonb_")
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        w = where(i, cell)
        for o in cell.get("outputs", []):
            t = o.get("output_type")
            if t == "error":
                tb = "\n".join(o.get("traceback", []))
                problems.append("%s: error %s: %s\n%s" % (w, o.get("ename", ""), o.get("evalue", ""), tb[-1500:]))
                continue
            if t == "stream":
                s = text(o.get("text"))
                m = BAD.search(s)
                if m:
                    problems.append("%s: printed %r:\n%s" % (w, m.group(0), s[max(0, m.start() - 800):m.start() + 1200]))
            else:
                data = o.get("data", {})
                if "image/png" in data:
                    pngs += 1
                s = "\n".join(text(v) for k, v in data.items() if k != "image/png")
                m = BAD.search(text(data.get("text/plain")))
                if m:
                    problems.append("%s: output shows %r" % (w, m.group(0)))
            for p in local:
                if p in s:
                    line = next(l for l in s.splitlines() if p in l)
                    problems.append("%s: output shows a path of this machine (%s...): %s" % (w, p, line[:200]))
                    break
    if want_png and pngs == 0:
        problems.append("no image/png output (this notebook should plot)")
    if len(problems) > 6:
        problems = problems[:5] + ["... and %d more problems" % (len(problems) - 5)]
    return [ANSI.sub("", p) for p in problems]


def normalize(nb):
    nb.get("metadata", {}).get("language_info", {}).pop("version", None)
    for cell in nb.get("cells", []):
        cell.get("metadata", {}).pop("execution", None)
        cell.get("metadata", {}).pop("ExecuteTime", None)
        if cell.get("cell_type") == "code":
            cell["execution_count"] = None
            for o in cell.get("outputs", []):
                if "execution_count" in o:
                    o["execution_count"] = None
                o.pop("transient", None)
    nb.setdefault("metadata", {}).setdefault("nnq", {})["code_sha256"] = code_sha256(nb)
    return nb


def outputs(cell):
    """A cell's outputs as comparable (kind, content) pairs: all it printed
    on stdout and on stderr (each joined: a program's prints and its
    displays travel on different pipes, so their interleaving varies from
    run to run), then the errors and the displays (tables, plots, progress
    bars) in order."""
    streams, rest = {}, []
    for o in cell.get("outputs", []):
        t = o.get("output_type")
        if t == "stream":
            name = "stream " + o.get("name", "")
            streams[name] = streams.get(name, "") + text(o.get("text"))
        elif t == "error":
            rest.append(("error", o.get("ename", "") + ": " + o.get("evalue", "")))
        else:
            for mime in sorted(o.get("data", {})):
                rest.append((mime, text(o["data"][mime])))
    return sorted(streams.items()) + rest


def compare(committed, executed):
    a, b = json.load(open(committed)), json.load(open(executed))
    ca = [c for c in a.get("cells", []) if c.get("cell_type") == "code"]
    cb = [c for c in b.get("cells", []) if c.get("cell_type") == "code"]
    diffs = []
    if a.get("metadata", {}).get("nnq", {}).get("code_sha256") != code_sha256(a):
        diffs.append("its code cells changed since its outputs were stored (metadata.nnq.code_sha256)")
    idx = [i for i, c in enumerate(a.get("cells", [])) if c.get("cell_type") == "code"]
    for k, (x, y) in enumerate(zip(ca, cb)):
        ox, oy = outputs(x), outputs(y)
        if ox == oy:
            continue
        w = where(idx[k], x)
        detail = ""
        for (kx, vx), (ky, vy) in zip(ox, oy):
            if (kx, vx) != (ky, vy):
                if kx == "image/png" and ky == "image/png":
                    detail = "a plot differs"
                elif kx != ky:
                    detail = "%s stored, %s now" % (kx, ky)
                else:
                    lx, ly = vx.splitlines(), vy.splitlines()
                    j = next((j for j in range(min(len(lx), len(ly))) if lx[j] != ly[j]), min(len(lx), len(ly)))
                    detail = "stored %r, now %r" % ((lx[j] if j < len(lx) else "")[:120], (ly[j] if j < len(ly) else "")[:120])
                break
        if not detail:
            detail = "%d outputs stored, %d now" % (len(ox), len(oy))
        diffs.append("%s: %s" % (w, detail))
    if len(ca) != len(cb):
        diffs.append("%d code cells stored, %d executed" % (len(ca), len(cb)))
    return diffs


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "scan":
        problems = scan(argv[2], argv[3] if len(argv) > 3 else None)
        print("\n".join(problems))
        return 1 if problems else 0
    if cmd == "store":
        nb = normalize(json.load(open(argv[2])))
        with open(argv[3], "w") as f:
            json.dump(nb, f, indent=1, ensure_ascii=False, sort_keys=True)
            f.write("\n")
        return 0
    if cmd == "compare":
        diffs = compare(argv[2], argv[3])
        print("\n".join(diffs[:6] + (["... and %d more" % (len(diffs) - 6)] if len(diffs) > 6 else [])))
        return 1 if diffs else 0
    if cmd == "hash":
        print(code_sha256(json.load(open(argv[2]))))
        return 0
    print("nbtool.py: unknown command %r" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
