#!/usr/bin/env bash
# Runs every nnq test on a fresh machine: installs what is missing, checks
# formatting and vet, runs the Go tests (kernels against the 1202 CMSIS-NN
# ground-truth vectors, generated C with sanitizers, QEMU Cortex-M runs),
# executes the notebooks, then builds the Docker image with podman and runs
# the notebooks in it (docker/image_test.go; its own step, it takes long).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"

NNQ_WITH_IMAGE=1 scripts/install-deps.sh

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
echo "== docker image"
go test -count=1 -timeout 90m -run "^$image_test\$" -v ./docker
echo "== all tests passed"
