#!/usr/bin/env bash
# Executes nnq's notebooks headless (GoNB kernel, Debian's Jupyter) and
# fails if any of them went wrong.
#
#   notebooks/run.sh                 every notebooks/*.ipynb
#   notebooks/run.sh PATH...         these notebooks, or every *.ipynb in
#                                    these directories
#
# Each notebook runs with `jupyter nbconvert --to notebook --execute` into
# a temporary directory (the committed notebooks stay untouched, outputs
# cleared). A failing GoNB cell does not always make nbconvert fail (a
# panic or a failing `!` line only prints), so the executed notebooks are
# scanned: the run fails if a cell produced an error output, printed
# "panic:" or "exit status N", or if a notebook that should plot (all of
# them, unless its metadata says "nnq": {"plots": false}) shows no
# image/png.
#
# Environment:
#   NNQ_NOTEBOOK_OUT   keep the executed notebooks in this directory
#   NNQ_CELL_TIMEOUT   seconds one cell may run (default 600)
#   NNQ_SKIP_INSTALL=1 do not run scripts/install-deps.sh
#   NNQ_DATA           data directory the notebooks read (default ../data)
#   JUPYTER            the jupyter command (default /usr/bin/jupyter:
#                      Debian's, which runs Debian's python3)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
PATH="$(go env GOPATH)/bin:$PATH"
export PATH

if [ "${NNQ_SKIP_INSTALL:-0}" != 1 ]; then
  "$root/scripts/install-deps.sh"
fi
JUPYTER="${JUPYTER:-/usr/bin/jupyter}"
if [ ! -x "$JUPYTER" ]; then JUPYTER="$(command -v jupyter)"; fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY="$(command -v python3)"
GONB="$(command -v gonb)" || { echo "run.sh: gonb is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }

# Notebooks to run.
nbs=()
if [ $# -eq 0 ]; then set -- "$here"; fi
for a in "$@"; do
  if [ -d "$a" ]; then
    for f in "$a"/*.ipynb; do [ -e "$f" ] && nbs+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
  elif [ -f "$a" ]; then
    nbs+=("$(cd "$(dirname "$a")" && pwd)/$(basename "$a")")
  else
    echo "run.sh: no notebook or directory $a" >&2; exit 2
  fi
done
if [ ${#nbs[@]} -eq 0 ]; then echo "run.sh: no notebooks in $*" >&2; exit 2; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${NNQ_NOTEBOOK_OUT:-$work/out}"
mkdir -p "$out"

# A private kernelspec: the installed GoNB kernel with --raw_error, so
# compilation errors come out as plain text in the executed notebook.
mkdir -p "$work/jupyter/kernels/gonb"
cat > "$work/jupyter/kernels/gonb/kernel.json" <<EOF
{"argv": ["$GONB", "--kernel", "{connection_file}", "--raw_error", "--logtostderr"],
 "display_name": "Go (gonb)", "language": "go", "interrupt_mode": "message", "env": {}}
EOF
export JUPYTER_PATH="$work/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"

failed=0
start_all=$(date +%s)
for nb in "${nbs[@]}"; do
  name="$(basename "$nb")"
  log="$work/${name%.ipynb}.log"
  start=$(date +%s)
  rc=0
  "$JUPYTER" nbconvert --to notebook --execute --allow-errors \
    --ExecutePreprocessor.kernel_name=gonb \
    --ExecutePreprocessor.timeout="${NNQ_CELL_TIMEOUT:-600}" \
    --output-dir "$out" --output "$name" "$nb" >"$log" 2>&1 || rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc -ne 0 ] || [ ! -f "$out/$name" ]; then
    echo "FAIL $name (${secs}s): nbconvert exit status $rc"
    grep -v '^[IW][0-9]\{4\} ' "$log" | tail -25 | sed 's/^/    /'
    failed=$((failed + 1))
    continue
  fi
  if problems="$("$PY" - "$out/$name" <<'PYEOF'
import json, re, sys
nb = json.load(open(sys.argv[1]))
want_png = nb.get("metadata", {}).get("nnq", {}).get("plots", True)
problems, pngs = [], 0
bad = re.compile(r"panic:|^exit status \d+", re.M)
for i, cell in enumerate(nb.get("cells", [])):
    if cell.get("cell_type") != "code":
        continue
    src = "".join(cell.get("source", "")).strip().splitlines()
    where = "cell %d (%s)" % (i + 1, src[0][:60] if src else "empty")
    for o in cell.get("outputs", []):
        t = o.get("output_type")
        if t == "error":
            tb = "\n".join(o.get("traceback", []))
            problems.append("%s: error %s: %s\n%s" % (where, o.get("ename", ""), o.get("evalue", ""), tb[-1500:]))
        elif t == "stream":
            text = "".join(o.get("text", ""))
            m = bad.search(text)
            if m:
                problems.append("%s: printed %r:\n%s" % (where, m.group(0), text[max(0, m.start() - 800):m.start() + 1200]))
        else:
            data = o.get("data", {})
            if "image/png" in data:
                pngs += 1
            text = "".join(data.get("text/plain", ""))
            if bad.search(text):
                problems.append("%s: output shows %r" % (where, bad.search(text).group(0)))
if want_png and pngs == 0:
    problems.append("no image/png output (this notebook should plot)")
if len(problems) > 6:
    problems = problems[:5] + ["... and %d more problems" % (len(problems) - 5)]
print(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(problems)))
sys.exit(1 if problems else 0)
PYEOF
  )"; then
    echo "ok   $name (${secs}s)"
  else
    echo "FAIL $name (${secs}s):"
    printf '%s\n' "$problems" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done
total=$(( $(date +%s) - start_all ))
if [ -n "${NNQ_NOTEBOOK_OUT:-}" ]; then echo "executed notebooks in $out"; fi
if [ $failed -ne 0 ]; then
  echo "notebooks: $failed of ${#nbs[@]} failed (${total}s)"
  exit 1
fi
echo "notebooks: all ${#nbs[@]} ran clean (${total}s)"
