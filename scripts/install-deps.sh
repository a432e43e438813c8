#!/usr/bin/env bash
# Installs what nnq's tests, notebooks and Cortex-M runs need, when missing:
# Debian packages (ARM toolchain, QEMU, CMake, Jupyter, ONNX test data,
# PyTorch for the test that checks the benchmark's PyTorch float pass) and
# GoNB. Idempotent; used by scripts/test.sh and docker/Dockerfile alike.
# Needs Debian or Ubuntu, root or sudo for apt-get, and network access.
set -euo pipefail

PKGS=(gcc libc6-dev make cmake gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
      jupyter-nbconvert jupyter-client python3-ipykernel jupyter-core libonnx-testdata
      python3-torch python3-numpy)
[ "${NNQ_WITH_TRAINING:-0}" = 1 ] && PKGS+=(espeak-ng sox python3-onnx)
# The image test's builders (scripts/test.sh; not inside the image itself).
[ "${NNQ_WITH_IMAGE:-0}" = 1 ] && PKGS+=(podman buildah debootstrap)

# quietly runs a command, showing its output only when it fails.
quietly() {
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    echo "install-deps: failed: $*" >&2
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  quietly $SUDO apt-get update -qq
  quietly $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# GoNB (the Go Jupyter kernel), pinned, through a tools module: 'go install
# ...@v0.11.1' is refused by the module proxy's version list.
GONB_VERSION=v0.11.1
GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"
# (grep reads all of the output: with pipefail, grep -q quitting at the
# first match could kill the writer with SIGPIPE and fail the pipe.)
if ! command -v gonb >/dev/null 2>&1 || ! gonb --version 2>/dev/null | grep "${GONB_VERSION#v}" >/dev/null; then
  echo "install-deps: installing GoNB $GONB_VERSION"
  tools="$(mktemp -d)"
  install_gonb() {
    cd "$tools" && go mod init nnq-tools &&
      go get -tool github.com/janpfeifer/gonb@$GONB_VERSION golang.org/x/tools/cmd/goimports@v0.52.0 &&
      go install tool
  }
  status=0
  (quietly install_gonb) || status=$?
  rm -rf "$tools"
  [ $status = 0 ] || exit $status
fi
if ! jupyter kernelspec list 2>/dev/null | grep gonb >/dev/null; then
  quietly gonb --install --force_deps  # gopls only serves autocompletion
fi
echo "install-deps: ok"
