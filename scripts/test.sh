#!/usr/bin/env bash
# Runs every nnq test on a fresh machine: installs what is missing, checks
# formatting and vet, runs the Go tests (kernels against the 1202 CMSIS-NN
# ground-truth vectors, generated C with sanitizers, QEMU Cortex-M runs),
# and executes the notebooks. The Docker image test (an hour or more) is not
# part of it: `make image-test` runs it on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"

scripts/install-deps.sh

echo "== gofmt / go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
go vet ./...

image_test=TestImageBuildsAndRunsTheNotebooks
echo "== go test"
go test -count=1 -timeout 20m -skip "^$image_test\$" ./...

if [ -x notebooks/run.sh ]; then
  echo "== notebooks"
  notebooks/run.sh
fi
echo "== all tests passed"
