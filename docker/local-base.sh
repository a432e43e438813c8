#!/usr/bin/env bash
# Builds a stand-in for the image's base, golang:1.26-bookworm, from
# Debian's mirror and the Go toolchain of this host, for machines that can
# reach Debian and the Go module proxy but no container registry:
#
#   docker/local-base.sh [IMAGE]      (default localhost/nnq-go-base:bookworm)
#
# Debian 12 (debootstrap, minbase) with Go at /usr/local/go and GOPATH=/go,
# as in the official image. Then build with
#   podman build --build-arg BASE=localhost/nnq-go-base:bookworm ...
# (docker/image_test.go does, with NNQ_DOCKER_BASE=local). Needs root,
# debootstrap and podman; set PODMAN to pass options (default
# "podman --storage-driver vfs").
set -euo pipefail
image="${1:-localhost/nnq-go-base:bookworm}"
PODMAN="${PODMAN:-podman --storage-driver vfs}"
goroot="$(go env GOROOT)"
case "$(go env GOVERSION)" in
  go1.26*) ;;
  *) echo "local-base.sh: the host's Go is $(go env GOVERSION), the image wants 1.26" >&2; exit 1 ;;
esac
command -v debootstrap >/dev/null || { echo "local-base.sh: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase bookworm "$work/root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
mkdir -p "$work/root/usr/local/go" "$work/root/go/bin" "$work/root/go/src"
cp -a "$goroot/." "$work/root/usr/local/go/"
tar -C "$work/root" -c . | $PODMAN import \
  --change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV GOPATH=/go' --change 'ENV GOLANG_VERSION='"$(go env GOVERSION | sed 's/^go//')" \
  --change 'WORKDIR /go' - "$image" >/dev/null
echo "local-base.sh: $image (Debian bookworm, $(go env GOVERSION))"
