# shellcheck shell=bash
# Pinned toolchain versions, sourced by scripts/tools.sh (to build) and scripts/env.sh (to
# find the builds). Each is part of the cache key: the build of <tool> lives in
# ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/tools/<tool>-<version>-<hash of the wrapper's
# go.mod and go.sum>/bin, so bumping a version here (with the wrapper's go.mod/go.sum) rebuilds it.
# tools.sh refuses to build when a version here and its wrapper's go.mod disagree.
#
# Why these versions (the Go module proxy this project can reach serves only some of them):
# - etcd v3.6.8: the release k8s.io/kubernetes v1.36.3 requires for its etcd client.
# - kubernetes v1.36.3: newest 1.36 patch on the proxy; kwok v0.8.0 is built on 1.36 libraries.
#   Also the key of the piece kubelet (kubelet and kube-proxy, same wrapper). Not 1.37 yet:
#   kubelet 1.37 drops containerd 1.6 (1.36 already reports kubelet_cri_losing_support).
# - kwok v0.8.0: newest release; built in the kubernetes wrapper (its k8s.io modules at v0.36.3,
#   not its own v0.36.1), so that it reuses the control plane's compiled packages.
# - pulumi v3.259.0: pkg/v3 v3.260.0's zip is refused by the proxy; v3.259.0 is the newest
#   tag it serves whole. @pulumi/pulumi in package.json should match (3.259.0).
# - pulumi-language-nodejs v3.188.0: the language host has no tags; the proxy serves only
#   pseudo-versions it has seen, the newest being bee5e4fa4815 = the v3.188.0 host's code.
# - pulumi-kubernetes v4.25.0: the only release tag whose provider/v4 pseudo-version the
#   proxy serves. @pulumi/kubernetes in package.json must be 4.25.0 to match this plugin.
# - cometbft v0.38.19: the v0.38 line Cosmos chains (Sei) run.
# - coredns v1.14.2: the CoreDNS kubeadm v1.36.3 deploys (cmd/kubeadm/app/constants/constants.go
#   CoreDNSVersion). Built in the kubernetes wrapper: it requires nothing newer than the modules
#   the kube binaries compile, so it adds none of theirs and shares their compiled client-go.
#   v1.15.0 (the newest on the proxy) asks for client-go v0.37 and newer grpc, otel and x/*,
#   which would have moved the control plane's modules or compiled a second client-go.
# - etcd is built in the kubernetes wrapper too (tools/kubernetes/etcd); adding it there
#   changes no module the kube binaries compile.
# - kubelet and kube-proxy: KUBERNETES_VERSION, like the control plane (one wrapper module).
# - testchain (our own Cosmos SDK chain, tools/testchain; a real SDK upgrade v0.47 -> v0.50 in
#   tests): cosmos-sdk v0.47.17 (CometBFT v0.37.5) and v0.50.15 (CometBFT v0.38.20, with
#   cosmossdk.io/x/upgrade v0.1.4 and x/circuit v0.1.1), the newest patches of both lines the
#   proxy serves (simapp itself is refused, hence our own app). Its cache key is not a version
#   but CHAINFLEET_TESTCHAIN_KEY (scripts/env.sh), a hash of tools/testchain's modules and sources.
#
# Not built here: the real node's container runtime and network come from Debian bookworm's
# packages (scripts/setup.sh): containerd 1.6.20, runc 1.1.5, containernetworking-plugins 1.1.1.
# kubelet 1.36 accepts containerd 1.6 (it falls back from the RuntimeConfig RPC to the
# configured cgroupfs driver) but flags it kubelet_cri_losing_support{version="1.37.0"}: moving
# to Kubernetes 1.37 means building containerd 2.x from the proxy (v2.4.2 was tried and works,
# ../shared/research/real-node.md).
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file
ETCD_VERSION=v3.6.8
KUBERNETES_VERSION=v1.36.3
KWOK_VERSION=v0.8.0
PULUMI_VERSION=v3.259.0
PULUMI_LANGUAGE_NODEJS_VERSION=v3.188.0
PULUMI_KUBERNETES_VERSION=v4.25.0
COMETBFT_VERSION=v0.38.19
COREDNS_VERSION=v1.14.2
TESTCHAIN_SDK_047=v0.47.17
TESTCHAIN_SDK_050=v0.50.15
