#!/usr/bin/env bash
# Builds the pinned toolchain that the api and e2e tiers need (etcd, the Kubernetes control
# plane, kwok, the Pulumi CLI with its Node.js language host, the Kubernetes provider plugin,
# CometBFT), what a real Kubernetes node needs (kubelet, kube-proxy, CoreDNS), and chainfleet's
# own Cosmos SDK test chain (testchaind, two SDK lines), from the Go module proxy, through the
# modules under tools/.
#
# Usage: scripts/tools.sh [--force] [piece...]     (npm run tools)
#   pieces: etcd kubernetes provisioner kubelet kwok pulumi pulumi-language-nodejs
#           pulumi-kubernetes cometbft coredns (the default, in that order: the cluster first,
#           then Pulumi), and testchain, only when named: the e2e tier's hard-fork chain, the
#           longest cold build (12 min per SDK line on 2 cores), which `npm run dev` never needs;
#           scripts/test.sh builds it in the background while the other tiers run
#   --force rebuilds the named pieces even when cached.
#
# Each piece is built once into ${CHAINFLEET_CACHE:-$HOME/.cache/chainfleet}/tools/<piece>-<key>/
# (outside the repository, so fresh clones and other checkouts reuse it). The key (scripts/env.sh)
# is the version in tools/versions.sh plus a hash of the wrapper's go.mod and go.sum: a version
# bump, or any dependency change, builds a new one; a present one is reused. Builds go to a temporary directory that is renamed only when complete, so an
# interrupted build is never mistaken for a cached one. scripts/env.sh puts the bin dirs on PATH.

# The build_<piece> functions are called indirectly, as "build_$piece".
# shellcheck disable=SC2317
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/versions.sh
. "$ROOT/tools/versions.sh"
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"

ALL_PIECES=(etcd kubernetes provisioner kubelet kwok pulumi pulumi-language-nodejs pulumi-kubernetes cometbft coredns)

# Go settings for reproducible, readonly builds: the wrappers' committed go.sum is the
# source of truth (no sumdb look-ups, no go.mod edits). Parallelism is Go's default
# (GOMAXPROCS = number of cores), which already matches a 2-core machine.
export GOFLAGS="-mod=readonly -buildvcs=false"
# -dwarf=false: every build links with -w (no DWARF in the binary), so the compiler need not
# write it for each package either; that saved about 9 % of a cold build's CPU time in
# burrowers/garble#96, and cold, these builds are most of a CI run.
GO_BUILD=(go build -trimpath -gcflags=all=-dwarf=false)

log() { printf 'tools: %s\n' "$*"; }
# The comment block at the top of this file is its help text.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { printf 'tools: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH (expected Go >= 1.26 at /usr/local/go/bin)"

# The versions in tools/versions.sh name the cache directories; the wrappers' go.mod files
# decide what is built. Refuse to build when they disagree, or the cache key would lie.
check_pin() { # <wrapper dir> <module> <version>
    grep -Eq "^[[:space:]]*(require[[:space:]]+)?$2[[:space:]]+$3([[:space:]]|$)" "$ROOT/tools/$1/go.mod" ||
        die "tools/$1/go.mod does not require $2 $3 (tools/versions.sh says so); keep them in sync"
}

# Each piece's cache key (scripts/env.sh): its pinned version and a hash of its wrapper module.
piece_version() {
    case "$1" in
    etcd) echo "$CHAINFLEET_ETCD_KEY" ;;
    kubernetes | kubelet) echo "$CHAINFLEET_KUBERNETES_KEY" ;;
    provisioner) echo "$CHAINFLEET_PROVISIONER_KEY" ;;
    kwok) echo "$CHAINFLEET_KWOK_KEY" ;;
    pulumi) echo "$CHAINFLEET_PULUMI_KEY" ;;
    pulumi-language-nodejs) echo "$CHAINFLEET_PULUMI_LANGUAGE_NODEJS_KEY" ;;
    pulumi-kubernetes) echo "$CHAINFLEET_PULUMI_KUBERNETES_KEY" ;;
    cometbft) echo "$CHAINFLEET_COMETBFT_KEY" ;;
    coredns) echo "$CHAINFLEET_COREDNS_KEY" ;;
    testchain) echo "$CHAINFLEET_TESTCHAIN_KEY" ;;
    *) die "unknown piece '$1' (known: ${ALL_PIECES[*]})" ;;
    esac
}

# --- one function per piece: each builds into "$1/bin" (a temporary directory) -----------

build_etcd() {
    # In the kubernetes wrapper (tools/kubernetes/etcd: etcd's own entry point), so that it
    # reuses the control plane's compiled grpc, protobuf, otel, x/net, ... (its own module
    # compiled 313 packages the kube binaries do not share; now about 100).
    check_pin kubernetes go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
    # etcd reports its version from a constant in go.etcd.io/etcd/api/v3/version: no ldflags.
    (cd "$ROOT/tools/kubernetes" && "${GO_BUILD[@]}" -ldflags "-s -w" -o "$1/bin/etcd" ./etcd)
}

# The ldflags of every k8s.io/kubernetes binary (pieces kubernetes and kubelet). Without the
# version variables the binaries report v0.0.0-master, and the Pulumi Kubernetes provider
# refuses a cluster older than v1.13. The same variables exist in client-go (kubectl's
# client version), as the upstream build sets both.
kubernetes_ld() {
    local v=$KUBERNETES_VERSION major minor ld="-s -w" pkg
    major=${v#v}; major=${major%%.*}
    minor=${v#v*.}; minor=${minor%%.*}
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ld+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    echo "$ld"
}

build_kubernetes() {
    check_pin kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION"
    # One go build for all four: their shared packages compile once either way (build cache),
    # but together the go command links one binary while it still compiles for the others.
    (cd "$ROOT/tools/kubernetes" && "${GO_BUILD[@]}" -ldflags "$(kubernetes_ld)" -o "$1/bin/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
}

build_provisioner() {
    # The local cluster's PersistentVolume provisioner (ours, tools/kubernetes/provisioner):
    # built in the kubernetes wrapper so it shares that module's client-go.
    (cd "$ROOT/tools/kubernetes" && "${GO_BUILD[@]}" -ldflags "-s -w" -o "$1/bin/chainfleet-provisioner" ./provisioner)
}

build_kubelet() {
    # A real node's binaries, from the same wrapper and version as the control plane. A piece
    # of its own (not two more binaries of kubernetes): caches that already hold
    # kubernetes-<version> would otherwise be reused without them.
    check_pin kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION"
    (cd "$ROOT/tools/kubernetes" && "${GO_BUILD[@]}" -ldflags "$(kubernetes_ld)" -o "$1/bin/" \
        k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
}

build_kwok() {
    # In the kubernetes wrapper: one version of every module both compile, so that kwok reuses
    # the packages the control plane's build compiled (client-go, apimachinery, ...).
    check_pin kubernetes sigs.k8s.io/kwok "$KWOK_VERSION"
    (cd "$ROOT/tools/kubernetes" && "${GO_BUILD[@]}" -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
        -o "$1/bin/kwok" sigs.k8s.io/kwok/cmd/kwok)
}

# Tags as in Pulumi's own release build (goreleaser), for every Pulumi binary: the CLI and the
# provider must share them for their common packages to compile once (tools/shared-deps.sh).
PULUMI_TAGS=osusergo,grpcnotrace
# Pulumi binaries print (and report to each other) the version set by this ldflag; without
# it `pulumi version` is empty and the Automation API's minimum-version check fails.
pulumi_ld() { echo "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$1"; }

build_pulumi() {
    check_pin pulumi github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION"
    (cd "$ROOT/tools/pulumi" && "${GO_BUILD[@]}" -tags "$PULUMI_TAGS" -ldflags "$(pulumi_ld "$PULUMI_VERSION")" \
        -o "$1/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

build_pulumi-language-nodejs() {
    check_pin pulumi-language-nodejs github.com/pulumi/pulumi/sdk/v3 "$PULUMI_LANGUAGE_NODEJS_VERSION"
    (cd "$ROOT/tools/pulumi-language-nodejs" && "${GO_BUILD[@]}" -tags "$PULUMI_TAGS" \
        -ldflags "$(pulumi_ld "$PULUMI_LANGUAGE_NODEJS_VERSION")" \
        -o "$1/bin/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
}

build_pulumi-kubernetes() {
    check_pin pulumi-kubernetes github.com/pulumi/pulumi-kubernetes/sdk/v4 "$PULUMI_KUBERNETES_VERSION"
    command -v node >/dev/null || die "node is needed to prepare the provider schema"
    local wrapper="$ROOT/tools/pulumi-kubernetes" version=${PULUMI_KUBERNETES_VERSION#v} moddir
    # The provider's main embeds its schema (with "version" set) and the terraform mapping.
    # Upstream writes those files with `go generate`; the module zip only has the sources
    # schema.json and terraform-mapping.json, so write the embedded copies here.
    moddir=$(cd "$wrapper" && go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
    [[ -f "$moddir/cmd/pulumi-resource-kubernetes/schema.json" ]] || die "no schema.json in $moddir"
    # shellcheck disable=SC2016  # JavaScript template literals, not shell expansions
    node -e '
        const fs = require("fs");
        const [dir, out, version] = process.argv.slice(1);
        const schema = JSON.parse(fs.readFileSync(`${dir}/schema.json`, "utf8"));
        schema.version = version;
        fs.writeFileSync(`${out}/schema-embed.json`, JSON.stringify(schema));
        const mapping = JSON.parse(fs.readFileSync(`${dir}/terraform-mapping.json`, "utf8"));
        fs.writeFileSync(`${out}/terraform-mapping-embed.json`, JSON.stringify(mapping));
    ' "$moddir/cmd/pulumi-resource-kubernetes" "$wrapper" "$version"
    # The CLI's tags, and (tools/shared-deps.sh) the CLI's versions of every module both
    # compile: then the packages they share compile once, in whichever build comes first.
    (cd "$wrapper" && "${GO_BUILD[@]}" -tags "$PULUMI_TAGS" \
        -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$version" \
        -o "$1/bin/pulumi-resource-kubernetes" .)
}

build_cometbft() {
    check_pin cometbft github.com/cometbft/cometbft "$COMETBFT_VERSION"
    # CometBFT's version is a constant (version.TMCoreSemVer); the default goleveldb backend
    # is pure Go, so no cgo or build tags are needed. CGO_ENABLED=0 as scripts/images.sh builds
    # the cometbft image from this same wrapper: with the same settings that build compiles
    # nothing again and only links (with cgo on here, the two compiled CometBFT twice).
    (cd "$ROOT/tools/cometbft" && CGO_ENABLED=0 "${GO_BUILD[@]}" -ldflags "-s -w" -o "$1/bin/cometbft" github.com/cometbft/cometbft/cmd/cometbft)
}

build_coredns() {
    # In the kubernetes wrapper (tools/kubernetes/coredns), like etcd: CoreDNS v1.14.2 needs
    # nothing newer than the control plane's modules, so it compiles against the same
    # client-go v0.36.3 (its own module compiled client-go and k8s.io/api v0.37 again).
    check_pin kubernetes github.com/coredns/coredns "$COREDNS_VERSION"
    # CoreDNS's version is a constant (coremain.CoreVersion); upstream's Makefile sets GitCommit
    # to `git describe --dirty --always`, which at a release tag is the tag itself.
    (cd "$ROOT/tools/kubernetes" && "${GO_BUILD[@]}" \
        -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
        -o "$1/bin/coredns" ./coredns)
}

# chainfleet's own Cosmos SDK chain (tools/testchain, tools/README.md): the binaries a real hard
# fork test runs, one per SDK line and variant. Static (CGO_ENABLED=0; goleveldb is pure Go),
# so scripts/images.sh copies these very files into the chainfleet/testchain images.
# `testchaind version` says which is which (0.47-v1, 0.50-v2, 0.50-v1).
TESTCHAIN_BINARIES=(testchaind-047-v1 testchaind-050-v2 testchaind-050-v1)
build_testchain() {
    check_pin testchain/v047 github.com/cosmos/cosmos-sdk "$TESTCHAIN_SDK_047"
    check_pin testchain/v050 github.com/cosmos/cosmos-sdk "$TESTCHAIN_SDK_050"
    local bin dir variant want start
    for bin in "${TESTCHAIN_BINARIES[@]}"; do
        start=$(date +%s)
        dir=${bin#testchaind-}
        variant=${dir#*-}
        dir=v${dir%%-*}
        (cd "$ROOT/tools/testchain/$dir" && CGO_ENABLED=0 "${GO_BUILD[@]}" \
            -ldflags "-s -w -X main.Variant=$variant" -o "$1/bin/$bin" .)
        want="${dir:1:1}.${dir:2}-$variant"
        [[ $("$1/bin/$bin" version 2>&1) == "$want" ]] || die "$bin: \`version\` does not say $want"
        log "testchain: $bin ($want) in $(($(date +%s) - start))s"
    done
}

# --- driver --------------------------------------------------------------------------------

# On a fresh machine every wrapper first downloads its modules, which waits on the network
# while the 2 cores idle. Fetch the modules of every piece that will be built in the
# background right away, so that the downloads overlap with the compiles of earlier pieces.
# Go's module cache is safe for concurrent use; a failed prefetch is retried by the build.
prefetch_modules() {
    local piece wrapper
    for piece in "$@"; do
        case $piece in
        etcd | provisioner | kubelet | kwok | coredns) wrapper=kubernetes ;;
        testchain) wrapper="testchain/v047 testchain/v050" ;;
        *) wrapper=$piece ;;
        esac
        [[ -f "$CHAINFLEET_TOOLS/$piece-$(piece_version "$piece")/.complete" && $FORCE != *" $piece "* ]] && continue
        for wrapper in $wrapper; do
            (cd "$ROOT/tools/$wrapper" && nice go mod download) >/dev/null 2>&1 &
        done
    done
}

# build_piece <piece>: reuse <cache>/tools/<piece>-<version> or build it, timing either way.
build_piece() {
    local piece=$1 version dest tmp start elapsed lock
    version=$(piece_version "$piece")
    dest="$CHAINFLEET_TOOLS/$piece-$version"
    start=$(date +%s)
    # One build of a piece at a time per cache (two checkouts, or `npm run tools` and
    # `cluster.sh up`, may share it); other pieces can build meanwhile.
    exec {lock}>"$CHAINFLEET_TOOLS/.$piece.lock"
    flock "$lock"
    if [[ -f "$dest/.complete" && $FORCE != *" $piece "* ]]; then
        log "$piece $version: cached, $(($(date +%s) - start))s ($dest)"
        exec {lock}>&-
        return
    fi
    log "$piece $version: building ..."
    # Half-built directories of interrupted runs (none can be in use: we hold the lock).
    rm -rf "$dest".tmp.*
    tmp="$dest.tmp.$$"
    mkdir -p "$tmp/bin"
    "build_$piece" "$tmp"
    date -u +%FT%TZ >"$tmp/.complete"
    rm -rf "$dest"
    mv "$tmp" "$dest"
    exec {lock}>&-
    elapsed=$(($(date +%s) - start))
    log "$piece $version: built in ${elapsed}s"
    BUILT_SECONDS+=("$piece=${elapsed}s")
}

# Put the plugins the CLI needs where it finds them without downloading anything:
# - the Node.js language host next to the pulumi binary (the CLI looks for bundled language
#   hosts in its own directory; env.sh also puts it on PATH);
# - the dynamic-provider shim pulumi-resource-pulumi-nodejs, which ships in the root of the
#   @pulumi/pulumi npm package (the CLI release tarball has the same 4-line script), likewise;
# - the Kubernetes provider, installed into $PULUMI_HOME/plugins like a downloaded plugin.
link_pulumi_plugins() {
    local pulumi_bin="$CHAINFLEET_PULUMI_BIN" shim="$ROOT/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
    [[ -x "$pulumi_bin/pulumi" ]] || return 0
    local lock
    exec {lock}>"$CHAINFLEET_TOOLS/.pulumi-home.lock"
    flock "$lock"
    if [[ -x "$CHAINFLEET_TOOLS/pulumi-language-nodejs-$CHAINFLEET_PULUMI_LANGUAGE_NODEJS_KEY/bin/pulumi-language-nodejs" ]]; then
        ln -sfn "$CHAINFLEET_TOOLS/pulumi-language-nodejs-$CHAINFLEET_PULUMI_LANGUAGE_NODEJS_KEY/bin/pulumi-language-nodejs" \
            "$pulumi_bin/pulumi-language-nodejs"
    fi
    if [[ -f "$shim" ]]; then
        # A copy, not a link: the shim must survive this checkout (CI clones are temporary).
        cmp -s "$shim" "$pulumi_bin/pulumi-resource-pulumi-nodejs" 2>/dev/null || install -m 0755 "$shim" "$pulumi_bin/"
    elif [[ ! -x "$pulumi_bin/pulumi-resource-pulumi-nodejs" ]]; then
        log "warning: $shim not found (run npm ci first); dynamic providers will not load"
    fi
    local plugin="$CHAINFLEET_TOOLS/pulumi-kubernetes-$CHAINFLEET_PULUMI_KUBERNETES_KEY/bin/pulumi-resource-kubernetes"
    local installed="$PULUMI_HOME/plugins/resource-kubernetes-$PULUMI_KUBERNETES_VERSION/pulumi-resource-kubernetes"
    if [[ -x "$plugin" ]] && ! cmp -s "$plugin" "$installed"; then
        "$pulumi_bin/pulumi" plugin install resource kubernetes "$PULUMI_KUBERNETES_VERSION" --file "$plugin" --reinstall
        log "pulumi-kubernetes $PULUMI_KUBERNETES_VERSION: installed as a plugin in $PULUMI_HOME"
    fi
}

# npm's own copies must be the versions the binaries were built for (see tools/versions.sh).
check_npm_versions() {
    local pkg want have
    for pkg in "@pulumi/pulumi:$PULUMI_VERSION" "@pulumi/kubernetes:$PULUMI_KUBERNETES_VERSION"; do
        want=${pkg##*:v}
        pkg=${pkg%:*}
        [[ -f "$ROOT/node_modules/$pkg/package.json" ]] || continue
        have=$(node -p "require('$ROOT/node_modules/$pkg/package.json').version" 2>/dev/null || echo "?")
        [[ "$have" == "$want" ]] || log "warning: node_modules has $pkg $have, the toolchain is built for $want"
    done
}

main() {
    FORCE=" "
    PIECES=()
    for arg in "$@"; do
        case "$arg" in
        --force) FORCE="force" ;;
        -h | --help) usage; exit 0 ;;
        -*) die "unknown option $arg" ;;
        *) piece_version "$arg" >/dev/null; PIECES+=("$arg") ;;
        esac
    done
    ((${#PIECES[@]})) || PIECES=("${ALL_PIECES[@]}")
    [[ $FORCE == force ]] && FORCE=" ${PIECES[*]} "

    mkdir -p "$CHAINFLEET_TOOLS"

    BUILT_SECONDS=()
    total_start=$(date +%s)
    prefetch_modules "${PIECES[@]}"
    for piece in "${PIECES[@]}"; do
        build_piece "$piece"
    done
    wait # for the prefetches (long done by now, unless a build failed early)
    if [[ " ${PIECES[*]} " == *" pulumi"* ]]; then
        link_pulumi_plugins
        check_npm_versions
    fi
    log "done in $(($(date +%s) - total_start))s${BUILT_SECONDS:+ (built: ${BUILT_SECONDS[*]})}"
}

# Called on the last line so bash has read the whole file before anything runs (editing
# this script while it builds is then harmless).
main "$@"; exit $?
