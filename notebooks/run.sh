#!/usr/bin/env bash
# Executes nnq's notebooks headless (GoNB kernel, Debian's Jupyter) and
# fails if any of them went wrong or if its committed outputs are stale.
#
#   notebooks/run.sh                 every notebooks/*.ipynb
#   notebooks/run.sh PATH...         these notebooks, or every *.ipynb in
#                                    these directories
#   notebooks/run.sh --store [PATH...]
#                                    execute and store the outputs in the
#                                    notebooks themselves (make notebooks)
#
# Each notebook runs with `jupyter nbconvert --to notebook --execute` into
# a temporary directory. A failing GoNB cell does not always make nbconvert
# fail (a panic or a failing `!` line only prints), so the executed
# notebooks are scanned (notebooks/nbtool.py scan): the run fails if a cell
# produced an error output, printed "panic:" or "exit status N", showed an
# absolute path of this machine, or if a notebook that should plot (all of
# them, unless its metadata says "nnq": {"plots": false}) shows no
# image/png.
#
# The notebooks are committed with their outputs, so that they read like a
# book without running them. Without --store, the run also fails when a
# committed notebook is stale (nbtool.py compare): its code cells changed
# since its outputs were stored (metadata.nnq.code_sha256, which
# notebooks/check_test.go also checks without Jupyter), or executing it
# now gives other outputs (nnq's code or data changed what it shows; text,
# tables and plots are compared exactly, so the notebooks are written to
# be deterministic: fixed seeds, no timings, no absolute paths). The cure
# is `make notebooks`. With --store, a notebook is written back only when
# its run is clean.
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

store=0
if [ "${1:-}" = --store ]; then store=1; shift; fi

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
# No person at the notebook: nb.Interactive() is false, widgets are skipped.
export NNQ_HEADLESS=1

failed=0
start_all=$(date +%s)
for nb in "${nbs[@]}"; do
  name="$(basename "$nb")"
  log="$work/${name%.ipynb}.log"
  start=$(date +%s)
  rc=0
  "$JUPYTER" nbconvert --to notebook --execute --allow-errors \
    --ExecutePreprocessor.kernel_name=gonb --ExecutePreprocessor.record_timing=False \
    --ExecutePreprocessor.timeout="${NNQ_CELL_TIMEOUT:-600}" \
    --output-dir "$out" --output "$name" "$nb" >"$log" 2>&1 || rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc -ne 0 ] || [ ! -f "$out/$name" ]; then
    echo "FAIL $name (${secs}s): nbconvert exit status $rc"
    grep -v '^[IW][0-9]\{4\} ' "$log" | tail -25 | sed 's/^/    /'
    failed=$((failed + 1))
    continue
  fi
  if ! problems="$("$PY" "$here/nbtool.py" scan "$out/$name" "$root")"; then
    echo "FAIL $name (${secs}s):"
    printf '%s\n' "$problems" | sed 's/^/    /'
    failed=$((failed + 1))
  elif [ $store = 1 ]; then
    "$PY" "$here/nbtool.py" store "$out/$name" "$nb"
    echo "ok   $name (${secs}s): outputs stored"
  elif ! stale="$("$PY" "$here/nbtool.py" compare "$nb" "$out/$name")"; then
    echo "FAIL $name (${secs}s): stale outputs (run make notebooks, or notebooks/run.sh --store ${nb#"$root"/}):"
    printf '%s\n' "$stale" | sed 's/^/    /'
    failed=$((failed + 1))
  else
    echo "ok   $name (${secs}s)"
  fi
done
total=$(( $(date +%s) - start_all ))
if [ -n "${NNQ_NOTEBOOK_OUT:-}" ]; then echo "executed notebooks in $out"; fi
if [ $failed -ne 0 ]; then
  echo "notebooks: $failed of ${#nbs[@]} failed (${total}s)"
  exit 1
fi
echo "notebooks: all ${#nbs[@]} ran clean (${total}s)"
