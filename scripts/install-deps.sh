#!/usr/bin/env bash
# Installs what nnq's tests, notebooks and Cortex-M runs need, when missing:
# Debian packages (ARM toolchain, QEMU, Jupyter, ONNX test data, PyTorch for
# the test that checks the benchmark's PyTorch float pass) and GoNB.
# Idempotent; used by scripts/test.sh and docker/Dockerfile alike.
set -euo pipefail

PKGS=(gcc make gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
      jupyter-nbconvert jupyter-client python3-ipykernel jupyter-core libonnx-testdata
      python3-torch python3-numpy)
[ "${NNQ_WITH_TRAINING:-0}" = 1 ] && PKGS+=(espeak-ng sox python3-onnx)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# GoNB (the Go Jupyter kernel), pinned, through a tools module: 'go install
# ...@v0.11.1' is refused by the module proxy's version list.
GONB_VERSION=v0.11.1
GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"
if ! command -v gonb >/dev/null 2>&1 || ! gonb --version 2>/dev/null | grep -q "${GONB_VERSION#v}"; then
  echo "install-deps: installing GoNB $GONB_VERSION"
  tools="$(mktemp -d)"
  (cd "$tools" && go mod init nnq-tools >/dev/null 2>&1 &&
     go get -tool github.com/janpfeifer/gonb@$GONB_VERSION golang.org/x/tools/cmd/goimports@v0.52.0 >/dev/null 2>&1 &&
     go install tool)
  rm -rf "$tools"
fi
if ! jupyter kernelspec list 2>/dev/null | grep -q gonb; then
  gonb --install --force_deps >/dev/null 2>&1  # gopls only serves autocompletion
fi
echo "install-deps: ok"
