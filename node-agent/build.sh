#!/usr/bin/env bash
# Builds chainfleet-agent as a static, reproducible binary: OUTDIR/chainfleet-agent.
#   CGO_ENABLED=0   no libc, so it runs in any image (alpine, ubuntu, distroless, scratch)
#   -trimpath       no build paths in the binary, so two builds of one commit are identical
#   -s -w           no symbol table or DWARF (smaller)
#   -buildvcs=false no VCS stamp (the version is passed explicitly instead)
# Usage: node-agent/build.sh OUTDIR [VERSION]    (GOOS/GOARCH from the environment are honoured)
set -euo pipefail
if [ $# -lt 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUTDIR [VERSION]" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
version=${2:-$(git -C "$here" rev-parse --short=12 HEAD 2>/dev/null || echo dev)}
mkdir -p "$out"
cd "$here"
CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid= -X main.version=$version" \
    -o "$out/chainfleet-agent" .
echo "built $out/chainfleet-agent ($(wc -c < "$out/chainfleet-agent") bytes, version $version)"
