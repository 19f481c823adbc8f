#!/usr/bin/env bash
# Installs what chainfleet needs on a fresh Debian machine: the system packages its scripts and
# tests use, and the npm dependencies. Idempotent; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, each for a reason:
#   curl, ca-certificates   snapshot restore script and its tests; API server health checks
#   wget, busybox           the snapshot restore script's wget and BusyBox variants in its tests
#   openssl                 certificates and service-account keys for the local cluster
#   lz4                     .tar.lz4 snapshots in the snapshot restore tests
#   docker-registry         a real OCI registry on loopback for the bootstrap monitor's api tests
#   containerd, runc        the local cluster's real node: the container runtime its kubelet uses
#   containernetworking-plugins  that node's pod network (bridge, host-local, portmap, loopback)
#   iptables, conntrack     kube-proxy's Service rules, and the kubelet's own chains
#   docker.io               builds the images the real node runs (scripts/images.sh; nothing can
#                           be pulled here) and the bootstrap monitor's image from monitor/Dockerfile
#   jq                      goes into the CometBFT image, as in the official one (with curl)
#   shellcheck              lints the shell scripts in .ci/run
#   procps                  pgrep: the test script stops its background builds with their children
PACKAGES=(curl ca-certificates wget busybox openssl lz4 docker-registry
    containerd runc containernetworking-plugins iptables conntrack docker.io jq shellcheck procps)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --ignore-scripts: @pulumi/kubernetes' install hook would try to download the provider plugin;
# scripts/tools.sh builds it from source instead.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --ignore-scripts --no-audit --no-fund
fi
